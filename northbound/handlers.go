package northbound

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

// paramIID reads an instance-id from the path or the query.
func paramIID(c *gin.Context, name, raw string) (int64, bool) {
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid", name, name+" must be an integer")
		return 0, false
	}
	return v, true
}

type networkBody struct {
	InstanceID     *int64 `json:"instance_id"`
	Name           string `json:"name"`
	Encapsulation  string `json:"encapsulation"`   // "": the default
	ForwardingMode string `json:"forwarding_mode"` // "": the default
	AutoThreshold  *int64 `json:"auto_threshold"`
}

func (s *Server) createNetwork(c *gin.Context) {
	var b networkBody
	if !bind(c, &b) {
		return
	}
	if b.InstanceID == nil {
		fail(c, http.StatusBadRequest, "invalid", "instance_id", "instance_id is required")
		return
	}
	n, err := s.ctl.AddNetwork(c.Request.Context(), controller.NetworkInput{InstanceID: *b.InstanceID, Name: b.Name,
		Encapsulation: b.Encapsulation, ForwardingMode: b.ForwardingMode, AutoThreshold: b.AutoThreshold})
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusCreated, n)
}

func (s *Server) listNetworks(c *gin.Context) { c.JSON(http.StatusOK, s.ctl.Networks()) }

func (s *Server) getNetwork(c *gin.Context) {
	iid, ok := paramIID(c, "instance_id", c.Param("instance_id"))
	if !ok {
		return
	}
	n, err := s.ctl.Network(uint32(iid))
	if iid < 0 || iid > 0xffffff || err != nil {
		fail(c, http.StatusNotFound, "not_found", "instance_id", "no network with that instance-id")
		return
	}
	c.JSON(http.StatusOK, n)
}

type networkChangeBody struct {
	Encapsulation  *string `json:"encapsulation"`
	ForwardingMode *string `json:"forwarding_mode"`
	AutoThreshold  *int64  `json:"auto_threshold"`
}

func (s *Server) patchNetwork(c *gin.Context) {
	iid, ok := paramIID(c, "instance_id", c.Param("instance_id"))
	if !ok {
		return
	}
	var b networkChangeBody
	if !bind(c, &b) {
		return
	}
	if iid < 0 || iid > 0xffffff {
		fail(c, http.StatusNotFound, "not_found", "instance_id", "no network with that instance-id")
		return
	}
	n, err := s.ctl.UpdateNetwork(c.Request.Context(), uint32(iid), controller.NetworkChange(b))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, n)
}

func (s *Server) deleteNetwork(c *gin.Context) {
	iid, ok := paramIID(c, "instance_id", c.Param("instance_id"))
	if !ok {
		return
	}
	if iid < 0 || iid > 0xffffff {
		fail(c, http.StatusNotFound, "not_found", "instance_id", "no network with that instance-id")
		return
	}
	if err := s.ctl.DeleteNetwork(c.Request.Context(), uint32(iid)); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type siteBody struct {
	Name         string    `json:"name"`
	AuthKey      *string   `json:"auth_key"`
	Networks     *[]int64  `json:"networks"`
	EIDPrefixes  *[]string `json:"eid_prefixes"`
	MACPrefixes  *[]string `json:"mac_prefixes"`
	AnyMAC       *bool     `json:"any_mac"`
	RLOCPrefixes *[]string `json:"rloc_prefixes"`
}

func (s *Server) createSite(c *gin.Context) {
	var b siteBody
	if !bind(c, &b) {
		return
	}
	site, err := s.ctl.CreateSite(c.Request.Context(), controller.SiteInput(b))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusCreated, site)
}

func (s *Server) listSites(c *gin.Context) { c.JSON(http.StatusOK, s.ctl.Sites()) }

func (s *Server) getSite(c *gin.Context) {
	site, err := s.ctl.Site(c.Param("name"))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, site)
}

func (s *Server) patchSite(c *gin.Context) {
	var b siteBody
	if !bind(c, &b) {
		return
	}
	if b.Name != "" && b.Name != c.Param("name") {
		fail(c, http.StatusBadRequest, "invalid", "name", "a site cannot be renamed")
		return
	}
	b.Name = c.Param("name")
	site, err := s.ctl.UpdateSite(c.Request.Context(), controller.SiteInput(b))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, site)
}

func (s *Server) deleteSite(c *gin.Context) {
	if err := s.ctl.DeleteSite(c.Request.Context(), c.Param("name")); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type xtrBody struct {
	Name           string `json:"name"`
	RLOC           string `json:"rloc"`
	OVSDB          string `json:"ovsdb"`
	Bridge         string `json:"bridge"`
	DatapathType   string `json:"datapath_type"`
	OpenFlowTarget string `json:"openflow_target"`
	TLSDir         string `json:"tls_dir"`
	Priority       *int64 `json:"priority"`
	Weight         *int64 `json:"weight"`
}

// xtrView is an xTR with its live status.
type xtrView struct {
	controller.XTR
	Status  XTRStatus   `json:"status"`
	Locator locatorView `json:"locator"`
}

func (s *Server) view(x controller.XTR) xtrView {
	v := xtrView{XTR: x, Locator: s.locatorOf(x)}
	if s.opt.Status != nil {
		v.Status = s.opt.Status.XTRStatus(x.Name)
	}
	return v
}

func (s *Server) createXTR(c *gin.Context) {
	var b xtrBody
	if !bind(c, &b) {
		return
	}
	x, err := s.ctl.CreateXTR(c.Request.Context(), controller.XTRInput{Site: c.Param("name"), Name: b.Name, RLOC: b.RLOC,
		OVSDB: b.OVSDB, Bridge: b.Bridge, DatapathType: b.DatapathType, OpenFlowTarget: b.OpenFlowTarget,
		TLSDir: b.TLSDir, Priority: b.Priority, Weight: b.Weight})
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusCreated, s.view(x))
}

func (s *Server) listXTRs(c *gin.Context) {
	xs := s.ctl.XTRs()
	out := make([]xtrView, len(xs))
	for i, x := range xs {
		out[i] = s.view(x)
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getXTR(c *gin.Context) {
	x, err := s.ctl.XTR(c.Param("name"))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, s.view(x))
}

func (s *Server) deleteXTR(c *gin.Context) {
	if err := s.ctl.DeleteXTR(c.Request.Context(), c.Param("name")); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type portBody struct {
	Name       string `json:"name"`
	InstanceID *int64 `json:"instance_id"`
}

func (s *Server) bindPort(c *gin.Context) {
	var b portBody
	if !bind(c, &b) {
		return
	}
	if b.InstanceID == nil {
		fail(c, http.StatusBadRequest, "invalid", "instance_id", "instance_id is required")
		return
	}
	p, err := s.ctl.BindPort(c.Request.Context(), c.Param("name"), b.Name, *b.InstanceID)
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

func (s *Server) listPorts(c *gin.Context) {
	ps, err := s.ctl.Ports(c.Param("name"))
	if err != nil {
		failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, ps)
}

func (s *Server) unbindPort(c *gin.Context) {
	if err := s.ctl.UnbindPort(c.Request.Context(), c.Param("name"), c.Param("port")); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// listQuery reads the optional instance_id and the paging (limit 1-1000,
// default 100; offset) of a listing; false: the answer is already sent.
func listQuery(c *gin.Context) (iid *uint32, limit, offset int, ok bool) {
	if _, has := c.GetQuery("instance_id"); has {
		v, good := queryInt(c, "instance_id", 0, 0, mapping.MaxIID)
		if !good {
			return nil, 0, 0, false
		}
		u := uint32(v)
		iid = &u
	}
	l, good := queryInt(c, "limit", 100, 1, 1000)
	if !good {
		return nil, 0, 0, false
	}
	o, good := queryInt(c, "offset", 0, 0, 1<<40)
	if !good {
		return nil, 0, 0, false
	}
	return iid, int(l), int(o), true
}
