package northbound

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
)

// Converger is what a StatusSource may also offer: waiting until every
// connected switch reflects the change feed up to an event id.
type Converger interface {
	WaitConverged(ctx context.Context, pos int64) bool
}

// maxDrainWait bounds ?wait= of a drain.
const maxDrainWait = 5 * time.Minute

// locatorView is the controller's view of an xTR's locator: whether it is
// held reachable (OpenFlow connection and BFD), the instance-ids it is the
// designated forwarder of, and its BFD sessions as its switch reports them.
type locatorView struct {
	Up                  bool              `json:"up"`
	DesignatedForwarder []uint32          `json:"designated_forwarder"`
	BFD                 map[string]string `json:"bfd,omitempty"` // peer RLOC -> up or down
}

func (s *Server) locatorOf(x controller.XTR) locatorView {
	v := locatorView{Up: !s.ctl.LocatorDown(x.RLOC), DesignatedForwarder: s.ctl.DesignatedForwarders(x.Name)}
	if v.DesignatedForwarder == nil {
		v.DesignatedForwarder = []uint32{}
	}
	if r := s.ctl.BFDSessions(x.Name); len(r) > 0 {
		v.BFD = make(map[string]string, len(r))
		for a, up := range r {
			v.BFD[a.String()] = map[bool]string{true: "up", false: "down"}[up]
		}
	}
	return v
}

// drainResult answers a drain or undrain.
type drainResult struct {
	XTR       xtrView `json:"xtr"`
	EventID   int64   `json:"event_id"`            // the change in the feed; 0: nothing changed
	Converged *bool   `json:"converged,omitempty"` // with ?wait=: every connected switch reflects it
}

func (s *Server) drainXTR(c *gin.Context)   { s.setDrained(c, true) }
func (s *Server) undrainXTR(c *gin.Context) { s.setDrained(c, false) }

// setDrained drains or undrains an xTR and, with ?wait=DURATION, waits
// until every connected switch holds the flows that follow (remote sites
// no longer send to it, another xTR of its site floods): then it can be
// stopped without loss.
func (s *Server) setDrained(c *gin.Context, drained bool) {
	var wait time.Duration
	if w := c.Query("wait"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 || d > maxDrainWait {
			fail(c, http.StatusBadRequest, "invalid", "wait", "want a duration between 0s and 5m, e.g. 10s")
			return
		}
		wait = d
	}
	x, pos, err := s.ctl.SetDrained(c.Request.Context(), c.Param("name"), drained)
	if err != nil {
		failErr(c, err)
		return
	}
	res := drainResult{XTR: s.view(x), EventID: pos}
	if conv, ok := s.opt.Status.(Converger); ok && wait > 0 {
		ctx, cancel := context.WithTimeout(c.Request.Context(), wait)
		defer cancel()
		done := conv.WaitConverged(ctx, max(pos, s.ctl.LastEventID()))
		res.Converged = &done
	}
	c.JSON(http.StatusOK, res)
}
