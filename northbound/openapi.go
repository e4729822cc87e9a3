package northbound

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDoc describes every route under /api/v1; a test checks it against
// the router so the two cannot drift apart.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPIDoc) }
