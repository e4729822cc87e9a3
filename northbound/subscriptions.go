package northbound

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
)

type subscriptionPage struct {
	Items  []controller.Subscription `json:"items"`
	Total  int                       `json:"total"`
	Limit  int64                     `json:"limit"`
	Offset int64                     `json:"offset"`
}

// listSubscriptions pages through the RFC 9437 subscriptions.
func (s *Server) listSubscriptions(c *gin.Context) {
	f := controller.SubFilter{Site: c.Query("site"), XTRID: strings.ToLower(c.Query("xtr_id"))}
	if f.XTRID != "" {
		if b, err := hex.DecodeString(f.XTRID); err != nil || len(b) != 16 {
			fail(c, http.StatusBadRequest, "invalid", "xtr_id", "xtr_id must be 32 hex digits")
			return
		}
	}
	var ok bool
	if f.InstanceID, f.Limit, f.Offset, ok = listQuery(c); !ok {
		return
	}
	items, total := s.ctl.Subscriptions(f)
	if items == nil {
		items = []controller.Subscription{}
	}
	c.JSON(http.StatusOK, subscriptionPage{Items: items, Total: total, Limit: int64(f.Limit), Offset: int64(f.Offset)})
}
