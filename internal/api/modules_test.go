package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/kmod"
)

type moduleSource struct{ inv *kmod.Inventory }

func (m moduleSource) Modules() *kmod.Inventory { return m.inv }

// TestModules: the client gets the inventory the agent gives, read from
// the kmod fixture tree; an agent without one says so.
func TestModules(t *testing.T) {
	inv := kmod.Read("../kmod/testdata/root", kmod.Options{})
	if len(inv.Modules) == 0 {
		t.Fatal("the fixture tree gave no modules")
	}
	_, c := listen(t, Options{Modules: moduleSource{inv}})
	got, err := c.Modules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(inv)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("inventory over the API differs:\n got %s\nwant %s", gotJSON, wantJSON)
	}

	_, c = listen(t, Options{})
	if _, err := c.Modules(context.Background()); err == nil || !strings.Contains(err.Error(), "no module inventory") {
		t.Errorf("agent without inventory: %v", err)
	}
}
