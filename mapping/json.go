package mapping

import (
	"encoding/json"
	"fmt"
	"time"
)

// recordJSON is the wire form of a Record in the REST API and the change feed.
type recordJSON struct {
	InstanceID uint32    `json:"instance_id"`
	EID        string    `json:"eid"`
	Family     string    `json:"family"`
	RLOCs      []Locator `json:"rlocs"`
	TTL        uint32    `json:"ttl"`
	Origin     Origin    `json:"origin"`
	Site       string    `json:"site"`
	XTR        string    `json:"xtr,omitempty"`
	Port       string    `json:"port,omitempty"`
	NoProxy    bool      `json:"no_proxy,omitempty"`
	MAC        string    `json:"mac,omitempty"`
	Frozen     bool      `json:"frozen,omitempty"`
	Version    uint64    `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MarshalJSON writes the record as the REST API shows it.
func (r Record) MarshalJSON() ([]byte, error) {
	locs := r.Locators
	if locs == nil {
		locs = []Locator{}
	}
	var mac string
	if r.HasMAC() {
		mac = r.MAC.String()
	}
	return json.Marshal(recordJSON{
		InstanceID: r.EID.IID, EID: r.EID.Address(), Family: r.EID.Family().String(),
		RLOCs: locs, TTL: r.TTL, Origin: r.Origin, Site: r.Site, XTR: r.XTR, Port: r.Port,
		NoProxy: r.NoProxy, MAC: mac, Frozen: r.Frozen, Version: r.Version, UpdatedAt: r.UpdatedAt,
	})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	eid, err := ParseEID(j.InstanceID, j.EID)
	if err != nil {
		return err
	}
	var mac MAC
	if j.MAC != "" {
		if mac, err = ParseMAC(j.MAC); err != nil {
			return fmt.Errorf("record mac: %w", err)
		}
	}
	*r = Record{EID: eid, Locators: j.RLOCs, TTL: j.TTL, Origin: j.Origin, Site: j.Site,
		XTR: j.XTR, Port: j.Port, NoProxy: j.NoProxy, MAC: mac, Frozen: j.Frozen,
		Version: j.Version, UpdatedAt: j.UpdatedAt}
	return nil
}
