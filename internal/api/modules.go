package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/vigil-sec/vigil/internal/kmod"
)

// Modules gives the kernel's module inventory, with the loads the agent
// saw joined in.
type Modules interface {
	Modules() *kmod.Inventory
}

// handleModules serves GET /v1/modules.
func (s *Server) handleModules(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Modules == nil {
		http.Error(w, "this agent keeps no module inventory", http.StatusNotFound)
		return
	}
	writeJSON(w, s.opts.Modules.Modules())
}

// Modules asks the agent for the kernel's module inventory.
func (c *Client) Modules(ctx context.Context) (*kmod.Inventory, error) {
	resp, err := c.get(ctx, "/v1/modules")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only
	var inv kmod.Inventory
	if err := json.NewDecoder(resp.Body).Decode(&inv); err != nil {
		return nil, fmt.Errorf("read modules from %s: %w", c.socket, err)
	}
	return &inv, nil
}
