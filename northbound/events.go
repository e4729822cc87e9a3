package northbound

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/l2lisp/l2lisp/controller"
)

// events streams the change feed as server-sent events. A client that
// reconnects with Last-Event-ID (or ?since=) first gets what it missed; if
// the retention policy deleted some of that, it first gets one
// feed.truncated event whose id is the last deleted one.
func (s *Server) events(c *gin.Context) {
	ctx := c.Request.Context()
	since, ok := s.eventsFrom(c)
	if !ok {
		return
	}
	ch, cancel := s.ctl.Subscribe(4096)
	defer cancel()
	pruned, err := s.ctl.PrunedThrough(ctx)
	if err != nil {
		failErr(c, err)
		return
	}
	// The stream is meant to outlive the server's write timeout. (The read
	// deadline is already gone: the server clears it once a bodiless
	// request is read.)
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no")
	st := &sseStream{c: c, last: since}
	if since < pruned {
		c.Status(http.StatusOK)
		st.send(truncated(since, pruned))
	}
	if !s.replay(st) {
		return
	}
	c.Writer.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	c.Stream(func(w io.Writer) bool {
		select {
		case ev, ok := <-ch:
			if !ok {
				return false // fell behind; the client reconnects with Last-Event-ID
			}
			st.send(ev)
			return !revokes(ev, c) // a revoked token's stream ends with its revocation
		case <-keepalive.C:
			_, _ = io.WriteString(w, ": keepalive\n\n")
			return true
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		}
	})
}

// sseStream writes events to one client once each, in id order.
type sseStream struct {
	c    *gin.Context
	last int64 // the newest event id sent
}

func (st *sseStream) send(ev controller.Event) {
	if ev.ID <= st.last {
		return
	}
	st.last = ev.ID
	b, _ := json.Marshal(ev)
	fmt.Fprintf(st.c.Writer, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b)
}

// replay sends what the client missed, a page at a time; the subscription
// taken before holds whatever arrives meanwhile, and send skips repeats.
// False: the stream is over (an error was answered or the read failed).
func (s *Server) replay(st *sseStream) bool {
	for page := 0; ; page++ {
		backlog, err := s.ctl.EventsSince(st.c.Request.Context(), st.last, 1000)
		if err != nil {
			if page == 0 && !st.c.Writer.Written() {
				failErr(st.c, err)
			}
			return false
		}
		if page == 0 {
			st.c.Status(http.StatusOK)
		}
		for _, ev := range backlog {
			st.send(ev)
		}
		if len(backlog) < 1000 {
			return true
		}
	}
}

// revokes reports whether ev revokes the token of the request.
func revokes(ev controller.Event, c *gin.Context) bool {
	if ev.Type != controller.EvTokenRevoked {
		return false
	}
	var d struct {
		Name string `json:"name"`
	}
	tok, _ := c.Get(tokenKey)
	t, _ := tok.(controller.Token)
	return json.Unmarshal(ev.Data, &d) == nil && d.Name == t.Name
}

// eventsFrom is where a stream starts: after Last-Event-ID, else after
// ?since=, else from now on.
func (s *Server) eventsFrom(c *gin.Context) (int64, bool) {
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			return id, true
		}
	} else if v, ok := c.GetQuery("since"); ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(c, http.StatusBadRequest, "invalid", "since", "since must be an event id")
			return 0, false
		}
		return id, true
	}
	return s.ctl.LastEventID(), true
}

// truncated tells a client that events after since up to pruned were
// deleted by the retention policy: it should re-read the state it keeps.
func truncated(since, pruned int64) controller.Event {
	data, _ := json.Marshal(map[string]int64{"requested_since": since, "pruned_through": pruned})
	return controller.Event{ID: pruned, Time: time.Now().UTC(), Type: controller.EvFeedTruncated,
		Actor: controller.ActorSystem, Data: data}
}
