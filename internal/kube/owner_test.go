package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestOwnerWatch checks, against a real kube-apiserver and with the
// chart's RBAC (a service account allowed get, list and watch on one
// DaemonSet by resourceNames), how the agent tells an uninstall from a
// rolling update: a DaemonSet in place is not gone; a foreground deletion
// (deletionTimestamp, the pods still there) is; a DaemonSet deleted and
// then its RBAC too, before the agent asks (helm's order), is, because
// the watch saw it; an agent that lost its RBAC while the DaemonSet stays
// keeps its pins.
func TestOwnerWatch(t *testing.T) {
	lab := kubelab.APIServer(t)
	const ns = "vh13-owner-test"
	namespace(t, lab, ns)
	rc := serviceAccount(t, lab, ns, "vh13-agent")

	gone := func(w *kube.OwnerWatch, limit time.Duration) (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		return w.Gone(ctx)
	}
	start := func(t *testing.T, name string) *kube.OwnerWatch {
		t.Helper()
		lab.Apply(daemonSetYAML(ns, name))
		lab.Apply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[2]s, namespace: %[1]s}
rules:
- apiGroups: [apps]
  resources: [daemonsets]
  resourceNames: [%[2]s]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[2]s, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[2]s}
subjects: [{kind: ServiceAccount, name: vh13-agent, namespace: %[1]s}]
`, ns, name))
		waitAllowed(t, rc, ns, name, true)
		w, err := kube.WatchOwner(rc, ns, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		if g, why := gone(w, time.Minute); g {
			t.Fatalf("a DaemonSet in place is gone: %s", why)
		}
		return w
	}

	t.Run("in place, then deleted in the foreground", func(t *testing.T) {
		w := start(t, "fg")
		kubectl(t, lab, "-n", ns, "delete", "daemonset", "fg", "--cascade=foreground", "--wait=false")
		// no garbage collector here: the DaemonSet keeps its deletionTimestamp
		if g, why := gone(w, time.Minute); !g {
			t.Errorf("a DaemonSet being deleted is not gone: %s", why)
		} else {
			t.Log(why)
		}
	})

	t.Run("deleted, then its RBAC, before the agent asks", func(t *testing.T) {
		w := start(t, "bg")
		kubectl(t, lab, "-n", ns, "delete", "daemonset", "bg", "--wait=false")
		kubectl(t, lab, "-n", ns, "delete", "rolebinding", "bg")
		waitAllowed(t, rc, ns, "bg", false)
		if g, why := gone(w, 30*time.Second); !g {
			t.Errorf("a deleted DaemonSet whose RBAC went too is not gone: %s", why)
		} else {
			t.Log(why)
		}
	})

	t.Run("RBAC lost, DaemonSet in place: kept", func(t *testing.T) {
		w := start(t, "stay")
		kubectl(t, lab, "-n", ns, "delete", "rolebinding", "stay")
		waitAllowed(t, rc, ns, "stay", false)
		g, why := gone(w, 3*time.Second)
		if g {
			t.Errorf("an agent without RBAC took its DaemonSet for gone: %s", why)
		}
		if !strings.Contains(why, "kept") {
			t.Errorf("reason %q: want it to say the pins are kept", why)
		}
	})

	if _, _, err := kube.ParseOwner("ns/name/x"); err == nil {
		t.Error("ParseOwner took ns/name/x")
	}
	if a, b, err := kube.ParseOwner("vigil/vigil"); err != nil || a != "vigil" || b != "vigil" {
		t.Errorf("ParseOwner(vigil/vigil) = %q, %q, %v", a, b, err)
	}
}

// serviceAccount makes a service account and returns a client config
// with a token of it (what a pod of it has).
func serviceAccount(t *testing.T, lab *kubelab.Lab, ns, name string) *rest.Config {
	t.Helper()
	lab.Apply(fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: %s}\n", name, ns))
	token := kubectl(t, lab, "-n", ns, "create", "token", name)
	admin, err := clientcmd.BuildConfigFromFlags("", lab.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: admin.Host, BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: admin.CAFile, CAData: admin.CAData}}
}

// waitAllowed waits until the RBAC authorizer, which follows the roles
// through a watch of its own, allows (or refuses) the account's GET.
func waitAllowed(t *testing.T, rc *rest.Config, ns, name string, allowed bool) {
	t.Helper()
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := c.AppsV1().DaemonSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if allowed != apierrors.IsForbidden(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET daemonset %s/%s: %v; want allowed=%v", ns, name, err, allowed)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func daemonSetYAML(ns, name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      containers: [{name: agent, image: docker.io/library/busybox:vigil}]
`, ns, name)
}
