// Package sharedlab checks kubelab.Main (Run): one lab for all of a
// package's tests, started by the first that asks and stopped after the
// last.
package sharedlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// apiserverPID is the shared lab's API server, as the first test saw it.
var apiserverPID int

func TestMain(m *testing.M) {
	code := kubelab.Run(m, kubelab.APIServerMode)
	if code == 0 && apiserverPID != 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", apiserverPID)); err == nil {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", apiserverPID)); !strings.Contains(string(st), ") Z") {
				fmt.Fprintf(os.Stderr, "FAIL: the shared lab's API server (pid %d) runs after Run\n", apiserverPID)
				code = 1
			}
		}
	}
	os.Exit(code)
}

func pid(t *testing.T, lab *kubelab.Lab) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(lab.StateDir, "run", "apiserver.pid"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSharedFirst(t *testing.T) {
	lab := kubelab.APIServer(t)
	apiserverPID = pid(t, lab)
	lab.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {by: first}\n")
}

func TestSharedSecond(t *testing.T) {
	lab := kubelab.APIServer(t)
	if apiserverPID == 0 {
		t.Skip("TestSharedFirst did not run")
	}
	if p := pid(t, lab); p != apiserverPID {
		t.Fatalf("a second lab: API server pid %d, the first test's was %d", p, apiserverPID)
	}
	out, err := lab.Kubectl("get", "configmap", "shared", "-o", "jsonpath={.data.by}")
	if err != nil || out != "first" {
		t.Fatalf("the first test's config map: %q, %v", out, err)
	}
}
