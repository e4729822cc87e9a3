package packet

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// fieldSet accumulates the tshark field values a message should produce,
// in dissection order.
type fieldSet map[string][]string

func (f fieldSet) add(field string, v any) { f[field] = append(f[field], fmt.Sprint(v)) }

// expectFields derives the expected tshark fields from the message itself.
func expectFields(m Message) map[string]string {
	f := fieldSet{}
	f.add("ip.src", "192.0.2.10")
	f.add("udp.srcport", 61000)
	f.add("ip.checksum.status", 1)
	f.add("udp.checksum.status", 1)
	f.add("lisp.type", int(m.Type()))
	if e, ok := m.(*ECM); ok {
		expectECM(f, e)
		m = e.Inner
		f.add("lisp.type", int(m.Type()))
	}
	switch v := m.(type) {
	case *MapRequest:
		expectMapRequest(f, v)
	case *MapReply:
		f.add("lisp.records", len(v.Records))
		f.add("lisp.nonce", fmt.Sprintf("0x%016x", v.Nonce))
		expectRecords(f, v.Records)
	case *MapRegister:
		expectAuth(f, v, v.Nonce, v.KeyID, v.AlgID, len(v.Records))
		f.add("lisp.mreg.flags.xtrid", flagValue(v.HasXTRID))
		expectRecords(f, v.Records)
		expectXTRID(f, v.HasXTRID, v.XTRID, v.SiteID)
	case *MapNotify:
		expectAuth(f, v, v.Nonce, v.KeyID, v.AlgID, len(v.Records))
		f.add("lisp.mnot.flags.xtrid", flagValue(v.HasXTRID))
		expectRecords(f, v.Records)
		expectXTRID(f, v.HasXTRID, v.XTRID, v.SiteID)
	}
	out := map[string]string{}
	for _, name := range tsharkFields {
		out[name] = strings.Join(f[name], ",")
	}
	return out
}

func expectECM(f fieldSet, e *ECM) {
	if e.Src.Addr().Is4() {
		f.add("ip.src", e.Src.Addr())
		f.add("ip.checksum.status", 1)
	} else {
		f.add("ipv6.src", e.Src.Addr())
	}
	f.add("udp.srcport", e.Src.Port())
	f.add("udp.checksum.status", 1)
}

func expectMapRequest(f fieldSet, m *MapRequest) {
	f.add("lisp.records", len(m.EIDs))
	f.add("lisp.nonce", fmt.Sprintf("0x%016x", m.Nonce))
	f.add("lisp.irc", len(m.ITRRLOCs)-1)
	// Wireshark's 9 reserved bits span header bits 10-18: the I bit (11)
	// reads 0x80 there, L 0x02 and D 0x01.
	res := 0
	if m.HasXTRID {
		res |= 0x80
	}
	if m.LocalXTR {
		res |= 0x02
	}
	if m.DontMapReply {
		res |= 0x01
	}
	f.add("lisp.mreq.res", fmt.Sprintf("0x%06x", res))
	expectAddr(f, m.SourceEID)
	for _, a := range m.ITRRLOCs {
		if a.AFI == AFIIPv4 {
			f.add("lisp.mreq.itr_rloc_ipv4", a.IP)
		} else {
			f.add("lisp.mreq.itr_rloc_ipv6", a.IP)
		}
	}
	for i, e := range m.EIDs {
		f.add("lisp.mreq.record.res", fmt.Sprintf("0x%02x", flag(m.Notify.Has(i), 0x80)))
		f.add("lisp.mreq.record.prefix.length", e.MaskLen)
		expectAddr(f, e.Addr)
	}
	if m.MapDataPresent {
		expectRecords(f, []Record{m.MapReply})
	}
	if m.HasXTRID { // not dissected by tshark 4.0: the trailing bytes
		f.add("data.data", hex.EncodeToString(m.XTRID[:])+hex.EncodeToString(m.SiteID[:]))
	}
}

// expectXTRID records the xTR-ID trailer tshark decodes after the records
// of a Map-Register or Map-Notify.
func expectXTRID(f fieldSet, has bool, xtrID [16]byte, siteID [8]byte) {
	if has {
		f.add("lisp.xtrid", hex.EncodeToString(xtrID[:]))
		f.add("lisp.siteid", hex.EncodeToString(siteID[:]))
	}
}

// flagValue is how tshark -T fields prints a boolean bit.
func flagValue(v bool) int {
	if v {
		return 1
	}
	return 0
}

// expectAuth checks the authentication header; the data itself is read
// back from the signed encoding.
func expectAuth(f fieldSet, m Message, nonce uint64, keyID uint8, alg AuthAlg, n int) {
	b := mustMarshal(m)
	f.add("lisp.records", n)
	f.add("lisp.nonce", fmt.Sprintf("0x%016x", nonce))
	f.add("lisp.keyid", fmt.Sprintf("0x%04x", uint16(keyID)<<8|uint16(alg)))
	f.add("lisp.authlen", alg.Size())
	f.add("lisp.auth", hex.EncodeToString(b[authOffset:authOffset+alg.Size()]))
}

func expectRecords(f fieldSet, recs []Record) {
	for _, r := range recs {
		f.add("lisp.mapping.eid.masklen", r.EID.MaskLen)
		f.add("lisp.mapping.act", int(r.Action))
		f.add("lisp.mapping.loccnt", len(r.Locators))
		expectAddr(f, r.EID.Addr)
		for _, l := range r.Locators {
			f.add("lisp.loc.locator", l.Addr.IP)
		}
	}
}

// expectAddr records the Instance-ID LCAF fields of an address.
func expectAddr(f fieldSet, a Address) {
	if !a.HasIID {
		return
	}
	f.add("lisp.lcaf.iid", strconv.FormatUint(uint64(a.IID), 10))
	switch {
	case a.AFI == AFIIPv4:
		f.add("lisp.lcaf.iid.ipv4", a.IP)
	case a.AFI == AFIIPv6:
		f.add("lisp.lcaf.iid.ipv6", a.IP)
	case a.IsMAC():
		f.add("lisp.lcaf.iid.mac", a.plainString())
	}
}
