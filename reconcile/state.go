package reconcile

import (
	"context"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// State is what reconciliation reads of the controller: the topology, the
// switch views the pipeline compiles, the records of changed EIDs and the
// change feed. *controller.Controller implements it.
type State interface {
	XTRs() []controller.XTR
	XTR(name string) (controller.XTR, error)
	XTRByDatapath(dpid uint64) (controller.XTR, bool)
	Ports(xtr string) ([]controller.Port, error)
	XTRsServing(iid uint32) []string
	View(name string) (pipeline.SwitchView, bool)
	ViewWith(name string, cached []mapping.EID) (pipeline.SwitchView, bool)
	BaseView(name string) (pipeline.SwitchView, bool)
	Record(e mapping.EID) (mapping.Record, bool)
	Bindings(mac mapping.EID) []mapping.EID
	Homes(r *mapping.Record) []string
	Mode(iid uint32) pipeline.Mode
	Modes() map[uint32]pipeline.Mode
	Subscribe(buf int) (<-chan controller.Event, func())
	LastEventID() int64
	BFDPeers(name string) []controller.BFDPeer
	BFDConfig() controller.BFDConfig
	RLOCStatus() map[netip.Addr]pipeline.RLOCState
	Emit(ctx context.Context, typ string, iid *uint32, eid, site, xtr string, data any) error
}

// Learner is what the switches' reports (packet-ins, flow-removed) are
// turned into: host learning and aging in the controller.
type Learner interface {
	State
	LearnConfig() controller.LearnConfig
	PortByOFPort(xtr string, n uint32) (controller.Port, bool)
	Learn(ctx context.Context, s controller.Sighting) (controller.LearnResult, error)
	Age(ctx context.Context, xtr, port string, iid uint32, mac mapping.MAC, idle time.Duration) (bool, error)
	SweepLearned(ctx context.Context, minAge time.Duration) (int, error)
	ReportBFD(ctx context.Context, xtr string, r controller.BFDReport) error
}

var _ Learner = (*controller.Controller)(nil)
