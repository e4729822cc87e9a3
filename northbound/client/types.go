package client

import (
	"encoding/json"
	"time"
)

// The types below mirror the schemas of northbound/openapi.json. They are
// the client's own so that users of this package do not pull in the
// controller and its database drivers.

// Network is a tenant network, one LISP instance-id.
type Network struct {
	InstanceID     uint32    `json:"instance_id"`
	Name           string    `json:"name"`
	Encapsulation  string    `json:"encapsulation"`   // "lisp-gpe" or "vxlan"
	ForwardingMode string    `json:"forwarding_mode"` // "push", "on-demand" or "auto"
	AutoThreshold  int64     `json:"auto_threshold"`  // auto: on-demand above this many hosts
	CreatedAt      time.Time `json:"created_at"`
}

// NetworkInput is the body of POST /networks.
type NetworkInput struct {
	InstanceID     int64  `json:"instance_id"`
	Name           string `json:"name,omitempty"`
	Encapsulation  string `json:"encapsulation,omitempty"`   // empty: the default, lisp-gpe
	ForwardingMode string `json:"forwarding_mode,omitempty"` // empty: the default, push
	AutoThreshold  *int64 `json:"auto_threshold,omitempty"`  // nil: the default, 10000
}

// NetworkChange is the body of PATCH /networks/{instance_id}: nil fields
// are left out and stay as they are.
type NetworkChange struct {
	Encapsulation  *string `json:"encapsulation,omitempty"`
	ForwardingMode *string `json:"forwarding_mode,omitempty"`
	AutoThreshold  *int64  `json:"auto_threshold,omitempty"`
}

// Site is a LISP site (a datacenter); its key is never shown.
type Site struct {
	Name         string    `json:"name"`
	Networks     []uint32  `json:"networks"`
	EIDPrefixes  []string  `json:"eid_prefixes"`
	MACPrefixes  []string  `json:"mac_prefixes"`
	AnyMAC       bool      `json:"any_mac"`
	RLOCPrefixes []string  `json:"rloc_prefixes"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// SiteInput is the body of POST /sites and PATCH /sites/{name}: nil
// fields are left out, so a PATCH changes only what is set.
type SiteInput struct {
	Name         string    `json:"name,omitempty"`
	AuthKey      *string   `json:"auth_key,omitempty"`
	Networks     *[]int64  `json:"networks,omitempty"`
	EIDPrefixes  *[]string `json:"eid_prefixes,omitempty"`
	MACPrefixes  *[]string `json:"mac_prefixes,omitempty"`
	AnyMAC       *bool     `json:"any_mac,omitempty"`
	RLOCPrefixes *[]string `json:"rloc_prefixes,omitempty"`
}

// XTR is an edge switch with what the southbound knows of it.
type XTR struct {
	Name           string     `json:"name"`
	Site           string     `json:"site"`
	RLOC           string     `json:"rloc"`
	OVSDB          string     `json:"ovsdb"`
	Bridge         string     `json:"bridge"`
	DatapathType   string     `json:"datapath_type"`
	OpenFlowTarget string     `json:"openflow_target,omitempty"`
	TLSDir         string     `json:"tls_dir"`
	DatapathID     string     `json:"datapath_id"`
	Priority       uint8      `json:"priority"`
	Weight         uint8      `json:"weight"`
	Drained        bool       `json:"drained"`
	BFDOFPort      uint32     `json:"bfd_ofport"`
	CreatedAt      time.Time  `json:"created_at"`
	Status         XTRStatus  `json:"status"`
	Locator        XTRLocator `json:"locator"`
}

// XTRLocator is the controller's view of an xTR's locator: reachable or not
// (OpenFlow connection and BFD), the instance-ids the xTR is the
// designated forwarder of, and its switch's BFD sessions by peer RLOC.
type XTRLocator struct {
	Up                  bool              `json:"up"`
	DesignatedForwarder []uint32          `json:"designated_forwarder"`
	BFD                 map[string]string `json:"bfd,omitempty"`
}

// DrainResult answers a drain or undrain: the xTR, the feed position of
// the change (0: nothing changed) and, when asked to wait, whether every
// connected switch reflects it.
type DrainResult struct {
	XTR       XTR   `json:"xtr"`
	EventID   int64 `json:"event_id"`
	Converged *bool `json:"converged,omitempty"`
}

// XTRStatus is the live state of an xTR's connections.
type XTRStatus struct {
	OVSDB    ConnState `json:"ovsdb"`
	OpenFlow ConnState `json:"openflow"`
	Flows    int       `json:"flows"`
	MapCache int       `json:"map_cache_entries"` // remote hosts of on-demand networks it holds
	InSync   bool      `json:"in_sync"`           // it reflects every change the controller applied
}

// ConnState is the state of one connection to a switch.
type ConnState struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitempty"`
	LastError string    `json:"last_error,omitempty"`
}

// XTRInput is the body of POST /sites/{name}/xtrs.
type XTRInput struct {
	Name           string `json:"name"`
	RLOC           string `json:"rloc"`
	OVSDB          string `json:"ovsdb,omitempty"`
	Bridge         string `json:"bridge,omitempty"`
	DatapathType   string `json:"datapath_type,omitempty"`
	OpenFlowTarget string `json:"openflow_target,omitempty"`
	TLSDir         string `json:"tls_dir,omitempty"`
	Priority       *int64 `json:"priority,omitempty"`
	Weight         *int64 `json:"weight,omitempty"`
}

// Port is an access port of an xTR bound to a tenant network.
type Port struct {
	XTR        string    `json:"xtr"`
	Name       string    `json:"name"`
	InstanceID uint32    `json:"instance_id"`
	OFPort     uint32    `json:"ofport"`
	CreatedAt  time.Time `json:"created_at"`
}

// PortInput is the body of POST /xtrs/{name}/ports.
type PortInput struct {
	Name       string `json:"name"`
	InstanceID int64  `json:"instance_id"`
}

// Locator is one RLOC of a mapping.
type Locator struct {
	Address  string `json:"address"`
	Priority uint8  `json:"priority"`
	Weight   uint8  `json:"weight"`
	Up       bool   `json:"up"`
}

// LocatorInput is an RLOC as given to POST /mappings; nil means the default.
type LocatorInput struct {
	Address  string `json:"address"`
	Priority *int64 `json:"priority,omitempty"`
	Weight   *int64 `json:"weight,omitempty"`
}

// Mapping is one EID-to-RLOC mapping.
type Mapping struct {
	InstanceID uint32    `json:"instance_id"`
	EID        string    `json:"eid"`
	Family     string    `json:"family"`
	RLOCs      []Locator `json:"rlocs"`
	TTL        uint32    `json:"ttl"` // minutes
	Origin     string    `json:"origin"`
	Site       string    `json:"site"`
	XTR        string    `json:"xtr,omitempty"`
	Port       string    `json:"port,omitempty"`
	NoProxy    bool      `json:"no_proxy,omitempty"`
	Version    uint64    `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MappingInput is the body of POST /mappings. No RLOCs means the site's xTRs.
type MappingInput struct {
	InstanceID int64          `json:"instance_id"`
	EID        string         `json:"eid"`
	Site       string         `json:"site"`
	RLOCs      []LocatorInput `json:"rlocs,omitempty"`
	TTL        *int64         `json:"ttl,omitempty"`
}

// ImportResult is the answer of POST /mappings/import: per item, in the
// order given, what POST /mappings would have answered.
type ImportResult struct {
	Created  int          `json:"created"`
	Replaced int          `json:"replaced"`
	Refused  int          `json:"refused"`
	Results  []ImportItem `json:"results"`
}

// ImportItem is what became of one imported mapping: Status 201 (created),
// 200 (replaced) or an error status with Error.
type ImportItem struct {
	Status int       `json:"status"`
	Error  *APIError `json:"error,omitempty"`
}

// MappingFilter selects mappings for GET /mappings; zero fields are unset.
type MappingFilter struct {
	InstanceID *int64
	Site       string
	Origin     string
	Text       string // substring of the EID
	Limit      int
	Offset     int
}

// MappingPage is one page of GET /mappings.
type MappingPage struct {
	Items  []Mapping `json:"items"`
	Total  int64     `json:"total"`
	Limit  int64     `json:"limit"`
	Offset int64     `json:"offset"`
}

// LookupResult is what GET /lookup answers: a mapping, or, when Negative is
// set, the covering prefix to forward natively (Action) for TTL minutes.
type LookupResult struct {
	Negative  bool   `json:"negative"`
	EIDPrefix string `json:"eid_prefix"`
	Action    string `json:"action"`
	Mapping          // TTL is shared by both answers
}

// Event is one entry of the change feed.
type Event struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	Type       string          `json:"type"`
	InstanceID *uint32         `json:"instance_id,omitempty"`
	EID        string          `json:"eid,omitempty"`
	Site       string          `json:"site,omitempty"`
	XTR        string          `json:"xtr,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	// Actor made the change: a token's name, lisp:SITE, learning or system.
	Actor string `json:"actor,omitempty"`
	// Raw is the event's JSON as the server sent it.
	Raw json.RawMessage `json:"-"`
}

// Health is the answer of GET /healthz.
type Health struct {
	Status      string `json:"status"`
	LastEventID int64  `json:"last_event_id"`
}

// Token is an API token as listed: never its secret.
type Token struct {
	Name       string     `json:"name"`
	Role       string     `json:"role"` // admin, operator or viewer
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Bootstrap  bool       `json:"bootstrap,omitempty"` // from --api-token or --read-token
}

// TokenInput names a new token and its role.
type TokenInput struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// CreatedToken is a new token with its secret, which only this answer holds.
type CreatedToken struct {
	Token
	Secret string `json:"secret"`
}

// Replica is one controller replica sharing the database.
type Replica struct {
	ID             string    `json:"id"`
	Address        string    `json:"address"`
	Role           string    `json:"role"` // leader, standby, stopped or down
	Generation     uint64    `json:"generation"`
	LastHeartbeat  time.Time `json:"last_heartbeat"`
	AppliedEventID int64     `json:"applied_event_id"`
	StartedAt      time.Time `json:"started_at"`
	Self           bool      `json:"self"`
}

// Cluster is the answer of GET /cluster.
type Cluster struct {
	Self         string    `json:"self"`
	Leader       string    `json:"leader"`
	Election     bool      `json:"election"`
	LeaseSeconds float64   `json:"lease_seconds"`
	Replicas     []Replica `json:"replicas"`
}
