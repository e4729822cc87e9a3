package store

import "time"

// Network is a tenant network: one LISP instance-id.
type Network struct {
	InstanceID     uint32 `gorm:"primaryKey;autoIncrement:false"`
	Name           string
	Encapsulation  string // "lisp-gpe" or "vxlan"
	ForwardingMode string `gorm:"default:push"` // "push", "on-demand" or "auto"
	AutoThreshold  int64  // auto: on-demand above this many hosts
	CreatedAt      time.Time
}

// Site is a datacenter (or any LISP site): the key its xTRs sign
// registrations with, and the instance-ids, EIDs and RLOCs it may register.
type Site struct {
	Name         string `gorm:"primaryKey"`
	AuthKey      string
	Networks     string // JSON array of instance-ids
	EIDPrefixes  string `gorm:"column:eid_prefixes"`  // JSON array of prefixes
	MACPrefixes  string `gorm:"column:mac_prefixes"`  // JSON array of MAC prefixes
	AnyMAC       bool   `gorm:"column:any_mac"`       // may register any MAC
	RLOCPrefixes string `gorm:"column:rloc_prefixes"` // JSON array; empty: any RLOC
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// XTR is an edge switch of a site.
type XTR struct {
	Name           string `gorm:"primaryKey"`
	Site           string
	RLOC           string `gorm:"column:rloc"`
	OVSDB          string `gorm:"column:ovsdb"`
	Bridge         string
	DatapathType   string
	OpenFlowTarget string `gorm:"column:openflow_target"`
	TLSDir         string `gorm:"column:tls_dir"`
	DatapathID     int64  // uint64 bit pattern; SQL has no unsigned 64-bit type
	Priority       uint8
	Weight         uint8
	Drained        bool   // taken out of service for maintenance (00010)
	BFDOFPort      uint32 `gorm:"column:bfd_ofport"` // OpenFlow port of the BFD sessions with this RLOC (00010)
	CreatedAt      time.Time
}

// TableName keeps gorm from calling it "x_trs".
func (XTR) TableName() string { return "xtrs" }

// Port binds an access port of an xTR to an instance-id.
type Port struct {
	XTR        string `gorm:"primaryKey;column:xtr"`
	Name       string `gorm:"primaryKey"`
	InstanceID uint32
	OFPort     uint32 `gorm:"column:of_port"`
	CreatedAt  time.Time
}

// Mapping is one EID-to-RLOC record.
type Mapping struct {
	InstanceID uint32 `gorm:"primaryKey;autoIncrement:false"`
	EID        string `gorm:"primaryKey;column:eid"`
	Family     string
	Locators   string // JSON array of mapping.Locator
	TTL        uint32 `gorm:"column:ttl"`
	Origin     string
	Site       string
	XTR        string `gorm:"column:xtr"`
	Port       string
	NoProxy    bool
	MAC        string `gorm:"column:mac"` // the MAC an IP EID is bound to, or ""
	Frozen     bool   // duplicate MAC: moves ignored until cleared
	Version    uint64
	UpdatedAt  time.Time
	ExpiresAt  *time.Time
}

// Event is one entry of the change feed.
type Event struct {
	ID         int64 `gorm:"primaryKey"`
	Time       time.Time
	Type       string
	InstanceID *uint32
	EID        string `gorm:"column:eid"`
	Site       string
	XTR        string `gorm:"column:xtr"`
	Data       string
	Actor      string // who made the change: a token name, lisp:SITE, learning, system
}

// APIToken is a named bearer token of the REST API. Only the SHA-256 of
// its secret is kept.
type APIToken struct {
	Name       string `gorm:"primaryKey"`
	Role       string
	Hash       string // hex SHA-256 of the secret
	CreatedAt  time.Time
	CreatedBy  string
	LastUsedAt *time.Time
}

// TableName names the table after what it holds.
func (APIToken) TableName() string { return "api_tokens" }

// FeedState is the single row that says how far retention pruned the feed.
type FeedState struct {
	ID            int64 `gorm:"primaryKey"`
	PrunedThrough int64 // every event with id <= this was deleted on purpose
}

// TableName keeps gorm from calling it "feed_states".
func (FeedState) TableName() string { return "feed_state" }

// Subscription is an xTR's RFC 9437 subscription to an EID-prefix.
type Subscription struct {
	XTRID       string `gorm:"primaryKey;column:xtr_id"` // 32 hex digits
	InstanceID  uint32 `gorm:"primaryKey;autoIncrement:false"`
	EID         string `gorm:"primaryKey;column:eid"`
	SiteID      string // 16 hex digits
	Site        string // the subscriber's site, whose key signs its Map-Notifies
	ITRRLOCs    string `gorm:"column:itr_rlocs"` // JSON array of addresses
	Port        uint16
	TTL         uint32 `gorm:"column:ttl"` // minutes
	Nonce       int64  // uint64 bit pattern
	CreatedAt   time.Time
	RefreshedAt time.Time
	ExpiresAt   time.Time
}

// FeedPosition is the single row that hands out event ids (see
// ReserveEventIDs).
type FeedPosition struct {
	ID     int `gorm:"primaryKey"`
	LastID int64
}

// TableName names the feed_position table.
func (FeedPosition) TableName() string { return "feed_position" }

// ClusterLease is the single row of the leader's lease (PostgreSQL only).
type ClusterLease struct {
	ID          int `gorm:"primaryKey"`
	Holder      string
	Incarnation string
	Epoch       int64
	AcquiredAt  *time.Time
	ExpiresAt   time.Time
}

// TableName names the cluster_lease table.
func (ClusterLease) TableName() string { return "cluster_lease" }

// ClusterReplica is one controller replica's heartbeat.
type ClusterReplica struct {
	ID             string `gorm:"primaryKey"`
	Address        string
	Role           string
	Generation     int64
	AppliedEventID int64
	StartedAt      time.Time
	HeartbeatAt    time.Time
}

// TableName names the cluster_replicas table.
func (ClusterReplica) TableName() string { return "cluster_replicas" }
