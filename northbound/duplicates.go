package northbound

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// clearDuplicate unfreezes a MAC EID flagged duplicate (it moved too often)
// so that its moves are followed again.
func (s *Server) clearDuplicate(c *gin.Context) {
	iid, eid, ok := eidQuery(c)
	if !ok {
		return
	}
	rec, err := s.ctl.ClearDuplicate(c.Request.Context(), iid, eid)
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, rec)
}
