package ofp13

// Version is the OpenFlow 1.3 wire version.
const Version uint8 = 0x04

// HeaderLen is the length of the common OpenFlow header.
const HeaderLen = 8

// Message types (OpenFlow 1.3.5 §7.1).
const (
	TypeHello            uint8 = 0
	TypeError            uint8 = 1
	TypeEchoRequest      uint8 = 2
	TypeEchoReply        uint8 = 3
	TypeExperimenter     uint8 = 4
	TypeFeaturesRequest  uint8 = 5
	TypeFeaturesReply    uint8 = 6
	TypeSetConfig        uint8 = 9
	TypePacketIn         uint8 = 10
	TypeFlowRemoved      uint8 = 11
	TypePortStatus       uint8 = 12
	TypePacketOut        uint8 = 13
	TypeFlowMod          uint8 = 14
	TypeGroupMod         uint8 = 15
	TypeMultipartRequest uint8 = 18
	TypeMultipartReply   uint8 = 19
	TypeBarrierRequest   uint8 = 20
	TypeBarrierReply     uint8 = 21
	TypeRoleRequest      uint8 = 24
	TypeRoleReply        uint8 = 25
	TypeMeterMod         uint8 = 29
)

// Multipart types.
const (
	MultipartFlow      uint16 = 1
	MultipartGroupDesc uint16 = 7
	MultipartPortDesc  uint16 = 13
)

// MultipartMore is the REQ_MORE / REPLY_MORE flag.
const MultipartMore uint16 = 1

// Flow-mod commands.
const (
	FlowAdd          uint8 = 0
	FlowModify       uint8 = 1
	FlowModifyStrict uint8 = 2
	FlowDelete       uint8 = 3
	FlowDeleteStrict uint8 = 4
)

// Flow-mod flags.
const (
	FlagSendFlowRem  uint16 = 1 << 0
	FlagCheckOverlap uint16 = 1 << 1
	FlagResetCounts  uint16 = 1 << 2
)

// Group-mod commands and group types.
const (
	GroupAdd    uint16 = 0
	GroupModify uint16 = 1
	GroupDelete uint16 = 2

	GroupTypeAll      uint8 = 0
	GroupTypeSelect   uint8 = 1
	GroupTypeIndirect uint8 = 2
	GroupTypeFF       uint8 = 3
)

// Meter-mod commands, flags and band types.
const (
	MeterAdd    uint16 = 0
	MeterModify uint16 = 1
	MeterDelete uint16 = 2

	MeterFlagKbps  uint16 = 1 << 0
	MeterFlagPktps uint16 = 1 << 1
	MeterFlagBurst uint16 = 1 << 2
	MeterFlagStats uint16 = 1 << 3

	MeterBandDrop uint16 = 1
)

// Controller roles.
const (
	RoleNoChange uint32 = 0
	RoleEqual    uint32 = 1
	RoleMaster   uint32 = 2
	RoleSlave    uint32 = 3
)

// Reserved numbers.
const (
	PortAny       uint32 = 0xffffffff
	PortCtrl      uint32 = 0xfffffffd
	GroupAny      uint32 = 0xffffffff
	GroupAll      uint32 = 0xfffffffc // in group-mod delete: every group
	TableAll      uint8  = 0xff
	NoBuffer      uint32 = 0xffffffff
	ControllerMax uint16 = 0xffff // OFPCML_NO_BUFFER
)

// Packet-in and flow-removed reasons.
const (
	ReasonNoMatch    uint8 = 0
	ReasonAction     uint8 = 1
	ReasonInvalidTTL uint8 = 2

	RemovedIdleTimeout uint8 = 0
	RemovedHardTimeout uint8 = 1
	RemovedDelete      uint8 = 2
	RemovedGroupDelete uint8 = 3
	RemovedMeterDelete uint8 = 4
)

// Error types used by callers to interpret switch errors.
const (
	ErrHelloFailed    uint16 = 0
	ErrBadRequest     uint16 = 1
	ErrBadAction      uint16 = 2
	ErrBadInstruction uint16 = 3
	ErrBadMatch       uint16 = 4
	ErrFlowModFailed  uint16 = 5
	ErrGroupModFailed uint16 = 6
	ErrRoleFailed     uint16 = 11
	ErrMeterModFailed uint16 = 12

	CodeGroupExists  uint16 = 0
	CodeUnknownGroup uint16 = 8
	CodeMeterExists  uint16 = 1
	CodeUnknownMeter uint16 = 3
	CodeRoleStale    uint16 = 0  // OFPRRFC_STALE: generation-id older than the switch's
	CodeIsSlave      uint16 = 10 // OFPBRC_IS_SLAVE: a slave may not change the switch
)

// Action, instruction and Nicira constants.
const (
	ActOutput       uint16 = 0
	ActGroup        uint16 = 22
	ActSetField     uint16 = 25
	ActExperimenter uint16 = 0xffff

	InstGotoTable     uint16 = 1
	InstWriteMetadata uint16 = 2
	InstApplyActions  uint16 = 4
	InstMeter         uint16 = 6

	NiciraVendor     uint32 = 0x00002320
	NXASTRegMove     uint16 = 6
	NXASTController  uint16 = 20
	matchTypeOXM     uint16 = 1
	helloBitmap      uint16 = 1
	maxMessageLength        = 0xffff
)
