package northbound

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

type locatorBody struct {
	Address  string `json:"address"`
	Priority *int64 `json:"priority"`
	Weight   *int64 `json:"weight"`
}

type mappingBody struct {
	InstanceID *int64        `json:"instance_id"`
	EID        string        `json:"eid"`
	Site       string        `json:"site"`
	RLOCs      []locatorBody `json:"rlocs"`
	TTL        *int64        `json:"ttl"`
}

func (s *Server) createMapping(c *gin.Context) {
	var b mappingBody
	if !bind(c, &b) {
		return
	}
	if b.InstanceID == nil {
		fail(c, http.StatusBadRequest, "invalid", "instance_id", "instance_id is required")
		return
	}
	in := controller.MappingInput{InstanceID: *b.InstanceID, EID: b.EID, Site: b.Site, TTL: b.TTL}
	for _, l := range b.RLOCs {
		in.RLOCs = append(in.RLOCs, controller.LocatorInput(l))
	}
	rec, created, err := s.ctl.CreateMapping(c.Request.Context(), in)
	if err != nil {
		failErr(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, rec)
}

// queryInt reads an optional integer query parameter within [lo, hi].
func queryInt(c *gin.Context, name string, def, lo, hi int64) (int64, bool) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, true
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		fail(c, http.StatusBadRequest, "invalid", name, name+" must be an integer from "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10))
		return 0, false
	}
	return v, true
}

type mappingPage struct {
	Items  []mapping.Record `json:"items"`
	Total  int64            `json:"total"`
	Limit  int64            `json:"limit"`
	Offset int64            `json:"offset"`
}

func (s *Server) listMappings(c *gin.Context) {
	f := controller.MappingFilter{Site: c.Query("site"), Origin: c.Query("origin"), Family: c.Query("family"), Text: c.Query("q")}
	switch f.Family {
	case "", "mac", "ipv4", "ipv6":
	default:
		fail(c, http.StatusBadRequest, "invalid", "family", "family must be mac, ipv4 or ipv6")
		return
	}
	if f.Origin != "" && !mapping.Origin(f.Origin).Valid() {
		fail(c, http.StatusBadRequest, "invalid", "origin", "origin must be static, registered or learned")
		return
	}
	var ok bool
	if f.InstanceID, f.Limit, f.Offset, ok = listQuery(c); !ok {
		return
	}
	recs, total, err := s.ctl.ListMappings(c.Request.Context(), f)
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, mappingPage{Items: recs, Total: total, Limit: int64(f.Limit), Offset: int64(f.Offset)})
}

func (s *Server) deleteMapping(c *gin.Context) {
	iid, eid, ok := eidQuery(c)
	if !ok {
		return
	}
	if err := s.ctl.DeleteMapping(c.Request.Context(), iid, eid); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) mappingHistory(c *gin.Context) {
	iid, eid, ok := eidQuery(c)
	if !ok {
		return
	}
	evs, err := s.ctl.History(c.Request.Context(), iid, eid, 500)
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, evs)
}

type negativeBody struct {
	Negative bool   `json:"negative"`
	Prefix   string `json:"eid_prefix"`
	Action   string `json:"action"`
	TTL      uint32 `json:"ttl"`
}

func (s *Server) lookup(c *gin.Context) {
	iid, eid, ok := eidQuery(c)
	if !ok {
		return
	}
	res, err := s.ctl.Lookup(iid, eid)
	if err != nil {
		failErr(c, err)
		return
	}
	if res.Record != nil {
		c.JSON(http.StatusOK, res.Record)
		return
	}
	nb := negativeBody{Negative: true, Action: res.Action, TTL: res.TTL}
	if res.Prefix.IsValid() {
		nb.Prefix = res.Prefix.String()
	}
	c.JSON(http.StatusOK, nb)
}

// eidQuery reads the instance_id and eid query parameters every
// single-EID endpoint takes, naming whichever is missing.
func eidQuery(c *gin.Context) (int64, string, bool) {
	iid, ok := queryInt(c, "instance_id", -1, 0, mapping.MaxIID)
	if !ok {
		return 0, "", false
	}
	if iid < 0 {
		fail(c, http.StatusBadRequest, "invalid", "instance_id", "the instance_id query parameter is required")
		return 0, "", false
	}
	eid := c.Query("eid")
	if eid == "" {
		fail(c, http.StatusBadRequest, "invalid", "eid", "the eid query parameter is required")
		return 0, "", false
	}
	return iid, eid, true
}
