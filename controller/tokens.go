package controller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store"
)

// Role is what an API token may do.
type Role string

// Roles, from least to most.
const (
	RoleViewer   Role = "viewer"   // read everything except tokens
	RoleOperator Role = "operator" // also change networks, sites, xTRs, ports and mappings
	RoleAdmin    Role = "admin"    // also manage tokens
)

var roleRank = map[Role]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return roleRank[r] > 0 && roleRank[r] >= roleRank[need] }

// Token is an API token as it is shown: never its secret, nor its hash.
type Token struct {
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Bootstrap tokens come from the server's flags, not from the API.
	Bootstrap bool `json:"bootstrap,omitempty"`
}

// Bootstrap token names: the tokens --api-token and --read-token give.
const (
	BootstrapAdmin  = "bootstrap"
	BootstrapViewer = "bootstrap-viewer"
)

// reservedTokenNames would make an actor ambiguous.
var reservedTokenNames = []string{ActorSystem, ActorLearning, ActorLISP, BootstrapAdmin, BootstrapViewer}

// tokenEntry is a stored token as this replica caches it.
type tokenEntry struct {
	tok  Token
	hash [sha256.Size]byte
}

// tokenPrefix marks l2lisp secrets, so secret scanners can find a leaked one.
const tokenPrefix = "l2lisp_"

// NewTokenSecret returns a fresh secret: 256 random bits.
func NewTokenSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is what is stored of a secret. The secrets are 256 random bits,
// so one SHA-256 is enough: there is nothing to guess a dictionary from.
func HashToken(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// tokenUseEvery bounds how often a token's last use is written.
const tokenUseEvery = time.Minute

func validTokenName(name string) error {
	if err := validName("name", name); err != nil {
		return err
	}
	for _, r := range reservedTokenNames {
		if strings.EqualFold(name, r) {
			return invalid("name", "%q is reserved", name)
		}
	}
	return nil
}

// CreateToken stores a new token and returns it with its secret, which is
// shown this once: only its hash is kept. The context's actor is recorded
// as its creator.
func (c *Controller) CreateToken(ctx context.Context, name string, role Role) (Token, string, error) {
	if err := validTokenName(name); err != nil {
		return Token{}, "", err
	}
	if !role.Valid() {
		return Token{}, "", invalid("role", "role must be admin, operator or viewer")
	}
	secret := NewTokenSecret()
	h := HashToken(secret)
	tok := Token{Name: name, Role: role, CreatedAt: time.Now().UTC().Truncate(time.Microsecond), CreatedBy: ActorOf(ctx)}
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var count int64
		if err := tx.Model(&store.APIToken{}).Where("name = ?", name).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check token: %w", err)
		} else if count > 0 {
			return nil, conflict("name", "a token named %q exists", name)
		}
		row := store.APIToken{Name: name, Role: string(role), Hash: hex.EncodeToString(h[:]),
			CreatedAt: tok.CreatedAt, CreatedBy: tok.CreatedBy}
		if err := tx.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("create token: %w", err)
		}
		// The event names the token and its role: never the secret or its hash.
		return []store.Event{newEvent(EvTokenCreated, map[string]string{"name": name, "role": string(role)})}, nil
	})
	if err != nil {
		return Token{}, "", err
	}
	return tok, secret, nil
}

// RevokeToken deletes a token; every replica refuses it once it applied
// the event.
func (c *Controller) RevokeToken(ctx context.Context, name string) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		res := tx.Where("name = ?", name).Delete(&store.APIToken{})
		if res.Error != nil {
			return nil, fmt.Errorf("revoke token: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil, notFound("name", "no token named %q", name)
		}
		return []store.Event{newEvent(EvTokenRevoked, map[string]string{"name": name})}, nil
	})
}

// Tokens lists the stored tokens by name, with their last use as written
// by every replica (to the minute).
func (c *Controller) Tokens(ctx context.Context) ([]Token, error) {
	var rows []store.APIToken
	if err := c.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = tokenFromRow(r).tok
	}
	return out, nil
}

// Authenticate finds the stored token whose secret this is. Every stored
// hash is compared, in constant time, so the answer's timing tells nothing.
func (c *Controller) Authenticate(secret string) (Token, bool) {
	h := HashToken(secret)
	c.mu.RLock()
	var found Token
	match := 0
	for _, e := range c.tokens {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
			found, match = e.tok, 1
		}
	}
	c.mu.RUnlock()
	if match == 0 {
		return Token{}, false
	}
	c.noteTokenUse(found.Name, time.Now().UTC())
	return found, true
}

// noteTokenUse writes a token's last use behind, at most once a minute.
func (c *Controller) noteTokenUse(name string, now time.Time) {
	c.useMu.Lock()
	due := now.Sub(c.tokenUsed[name]) >= tokenUseEvery
	if due {
		c.tokenUsed[name] = now
	}
	c.useMu.Unlock()
	if !due {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
			err := tx.Model(&store.APIToken{}).Where("name = ?", name).Update("last_used_at", now.Truncate(time.Second)).Error
			return nil, err
		})
		if err != nil {
			c.log.Debug("note token use", "token", name, "err", err)
		}
	}()
}

func tokenFromRow(r store.APIToken) tokenEntry {
	e := tokenEntry{tok: Token{Name: r.Name, Role: Role(r.Role), CreatedAt: r.CreatedAt.UTC(), CreatedBy: r.CreatedBy}}
	if r.LastUsedAt != nil {
		t := r.LastUsedAt.UTC()
		e.tok.LastUsedAt = &t
	}
	if b, err := hex.DecodeString(r.Hash); err == nil && len(b) == sha256.Size {
		copy(e.hash[:], b)
	}
	return e
}

func (c *Controller) loadTokens(ctx context.Context) error {
	var rows []store.APIToken
	if err := c.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return fmt.Errorf("load tokens: %w", err)
	}
	for _, r := range rows {
		c.tokens[r.Name] = tokenFromRow(r)
	}
	return nil
}

// reloadToken follows a token event: the hash is re-read from the
// database, since the feed never carries it.
func (c *Controller) reloadToken(ev Event) error {
	var d struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return fmt.Errorf("decode token event: %w", err)
	}
	var rows []store.APIToken
	if err := c.db.Where("name = ?", d.Name).Find(&rows).Error; err != nil {
		return fmt.Errorf("reload token: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, d.Name)
	for _, r := range rows {
		c.tokens[r.Name] = tokenFromRow(r)
	}
	return nil
}
