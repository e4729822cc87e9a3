package pipeline

import (
	"encoding/binary"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
)

// Announcements make a multihomed site's LAN switch forget the xTR that
// left. The site's LAN learns a remote host's MAC on the port of the xTR
// that last delivered one of its frames, and keeps sending that host's
// traffic there; when that xTR dies or is drained, the LAN would black-hole
// it until the host happens to send through another xTR. So the designated
// forwarder sends, out each access port of the instance-id, one frame per
// remote host whose source and destination are both that host's MAC: a
// learning switch moves the MAC to the DF's port and, the destination being
// on the port it came in on, forwards the frame nowhere. RARP (0x8035) is
// the EtherType hypervisors use to announce a moved MAC.

// Announcement is one frame to send out one access port.
type Announcement struct {
	Port uint32
	MAC  mapping.MAC
}

// Announcements lists, for the instance-ids given, every remote MAC record
// of the view on every access port of its instance-id, sorted by
// instance-id, MAC and port.
func Announcements(v SwitchView, iids []uint32) []Announcement {
	c := newCompiler(v)
	want := map[uint32]bool{}
	for _, iid := range iids {
		want[iid] = true
	}
	var out []Announcement
	for _, r := range c.records() {
		if !want[r.EID.IID] || c.isLocal(r) {
			continue
		}
		for _, p := range c.ports[r.EID.IID] {
			out = append(out, Announcement{Port: p.OFPort, MAC: r.EID.MAC})
		}
	}
	return slices.Clip(out)
}

// EthTypeRARP is the EtherType of the announcement frames.
const EthTypeRARP = 0x8035

// AnnounceFrame is the 60-byte announcement of mac: Ethernet from and to
// mac, a RARP "request reverse" whose sender and target hardware addresses
// are mac, padded to the minimum frame size.
func AnnounceFrame(mac mapping.MAC) []byte {
	b := make([]byte, 60)
	copy(b[0:6], mac[:])
	copy(b[6:12], mac[:])
	binary.BigEndian.PutUint16(b[12:], EthTypeRARP)
	binary.BigEndian.PutUint16(b[14:], 1)      // hardware type: Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // protocol type: IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 3) // request reverse
	copy(b[22:28], mac[:])                // sender hardware address; sender IP 0
	copy(b[32:38], mac[:])                // target hardware address; target IP 0
	return b
}
