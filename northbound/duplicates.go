package northbound

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/mapping"
)

// clearDuplicate unfreezes a MAC EID flagged duplicate (it moved too often)
// so that its moves are followed again.
func (s *Server) clearDuplicate(c *gin.Context) {
	iid, ok := queryInt(c, "instance_id", -1, 0, mapping.MaxIID)
	if !ok {
		return
	}
	if iid < 0 || c.Query("eid") == "" {
		fail(c, http.StatusBadRequest, "invalid", "eid", "instance_id and eid query parameters are required")
		return
	}
	rec, err := s.ctl.ClearDuplicate(c, iid, c.Query("eid"))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, rec)
}
