package main

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
)

// southbound bundles what talks to switches and LISP routers.
type southbound struct{}

func startSouthbound(ctx context.Context, ctl *controller.Controller, cfg serveConfig, log *slog.Logger) (*southbound, error) {
	return &southbound{}, nil
}

func (s *southbound) XTRStatus(name string) northbound.XTRStatus { return northbound.XTRStatus{} }
func (s *southbound) Routes(r *gin.Engine)                         {}
func (s *southbound) Close()                                        {}
