package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func modulesJSON(t *testing.T, bin string, args ...string) kmod.Inventory {
	t.Helper()
	out, errOut, code := vigilCmd(t, bin, append([]string{"modules", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("vigil modules %q: exit %d\n%s", args, code, errOut)
	}
	var inv kmod.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("vigil modules %q: %v\n%s", args, err, out)
	}
	return inv
}

func moduleNames(inv kmod.Inventory) []string {
	var out []string
	for _, m := range inv.Modules {
		out = append(out, m.Name)
	}
	return out
}

// TestModulesCommand: `vigil modules --format json` on the kmod fixture
// tree and on this machine, whose /sys/module entries must all be there.
func TestModulesCommand(t *testing.T) {
	bin := buildVigil(t)
	inv := modulesJSON(t, bin, "--root", "../../internal/kmod/testdata/root")
	var signed *kmod.Module
	for i, m := range inv.Modules {
		if m.Name == "vh_signed" {
			signed = &inv.Modules[i]
		}
	}
	if !inv.ModulesSupported || len(inv.Modules) != 12 || signed == nil || signed.File == nil ||
		signed.File.Signature == nil || signed.File.Signature.Signer != "vigil fixture signing key" || len(signed.File.SHA256) != 64 {
		t.Errorf("fixture inventory: %d modules, vh_signed %+v", len(inv.Modules), signed)
	}

	live := modulesJSON(t, bin)
	ents, err := os.ReadDir("/sys/module")
	if err != nil {
		t.Skipf("no /sys/module on this machine: %v", err)
	}
	names := moduleNames(live)
	for _, e := range ents {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("/sys/module/%s is not listed", e.Name())
		}
	}
	text, errOut, code := vigilCmd(t, bin, "modules")
	if code != 0 || !strings.Contains(text, "NAME") || !strings.Contains(text, "built in") {
		t.Errorf("text table: exit %d\n%s\n%s", code, text, errOut)
	}
}

// TestModulesEscapesNames: a module name and a file path with terminal
// controls come out escaped in the table.
func TestModulesEscapesNames(t *testing.T) {
	bin := buildVigil(t)
	root := t.TempDir()
	evil := "vh16m\x1b]0;owned\x07"
	for name, body := range map[string]string{
		"proc/modules":                        evil + " 4096 0 - Live 0x0 (O)\n",
		"proc/sys/kernel/osrelease":           "r\n",
		"lib/modules/r/modules.dep":           "extra/" + evil + ".ko:\n",
		"lib/modules/r/extra/" + evil + ".ko": "not an ELF file",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, body)
	}
	out, _, code := vigilCmd(t, bin, "modules", "--root", root)
	if code != 0 || strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, "vh16m") {
		t.Errorf("exit %d, output not escaped:\n%q", code, out)
	}
}

// TestModulesFromTheAgent: a running agent serves the same inventory on
// its API (`vigil modules --agent`) and counts it in vigil_kernel_modules.
func TestModulesFromTheAgent(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "vigil.sock")
	var agentErr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--socket", sock, "--output", filepath.Join(dir, "events.json"),
		"--metrics-addr", "127.0.0.1:0")...)
	agent.Stderr = &agentErr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = agent.Process.Kill() // our own agent, by pid
		_ = agent.Wait()
	}()
	waitFor(t, "the API", func() bool { return strings.Contains(agentErr.String(), "serving the local API") })

	fromAgent := modulesJSON(t, bin, "--agent", "--socket", sock)
	local := modulesJSON(t, bin)
	if !slices.Equal(moduleNames(fromAgent), moduleNames(local)) || fromAgent.Release != local.Release {
		t.Errorf("agent's modules %q, local %q", moduleNames(fromAgent), moduleNames(local))
	}
	if !strings.Contains(agentErr.String(), "module loads") {
		t.Errorf("the startup log does not say how module loads are watched:\n%s", agentErr.String())
	}

	addr := regexp.MustCompile(`address=http://(\S+)/metrics`).FindStringSubmatch(agentErr.String())
	if addr == nil {
		t.Fatalf("no metrics address in the log:\n%s", agentErr.String())
	}
	resp, err := http.Get("http://" + addr[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	counts := local.CountByTaint()
	for k, n := range counts {
		line := `vigil_kernel_modules{kind="` + k[0] + `",taint="` + k[1] + `"} ` + strconv.Itoa(n)
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if len(counts) == 0 {
		t.Error("no modules counted")
	}
}
