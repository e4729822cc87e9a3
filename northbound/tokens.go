package northbound

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
)

type tokenBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// createdToken is the only answer that ever holds a token's secret.
type createdToken struct {
	controller.Token
	Secret string `json:"secret"`
}

func (s *Server) createToken(c *gin.Context) {
	var b tokenBody
	if !bind(c, &b) {
		return
	}
	if b.Role == "" {
		fail(c, http.StatusBadRequest, "invalid", "role", "role is required: admin, operator or viewer")
		return
	}
	tok, secret, err := s.ctl.CreateToken(c.Request.Context(), b.Name, controller.Role(b.Role))
	if err != nil {
		failErr(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createdToken{Token: tok, Secret: secret})
}

func (s *Server) listTokens(c *gin.Context) {
	stored, err := s.ctl.Tokens(c.Request.Context())
	if err != nil {
		failErr(c, err)
		return
	}
	out := make([]controller.Token, 0, len(s.boot)+len(stored))
	for _, b := range s.boot {
		out = append(out, b.tok)
	}
	c.JSON(http.StatusOK, append(out, stored...))
}

func (s *Server) revokeToken(c *gin.Context) {
	name := c.Param("name")
	for _, b := range s.boot {
		if b.tok.Name == name {
			fail(c, http.StatusConflict, "conflict", "name",
				"the bootstrap tokens come from --api-token and --read-token: restart without the flag to retire one")
			return
		}
	}
	if err := s.ctl.RevokeToken(c.Request.Context(), name); err != nil {
		failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
