package kube

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// TestFindPods asks a real HTTP server, started by the test, that answers
// the two API calls as an API server does.
func TestFindPods(t *testing.T) {
	pod := func(name, uid string) corev1.Pod {
		return corev1.Pod{
			TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + uid)},
			Spec:       corev1.PodSpec{NodeName: "node-1"},
		}
	}
	var selectors []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/shop/pods/web-1":
			_ = json.NewEncoder(w).Encode(pod("web-1", "1"))
		case "/api/v1/namespaces/shop/pods":
			selectors = append(selectors, r.URL.Query().Get("labelSelector"))
			_ = json.NewEncoder(w).Encode(corev1.PodList{
				TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
				Items:    []corev1.Pod{pod("web-2", "2"), pod("web-1", "1")},
			})
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound})
		}
	}))
	defer srv.Close()
	cfg := &Config{REST: &rest.Config{Host: srv.URL}}
	ctx := context.Background()

	refs, err := FindPods(ctx, cfg, "shop", "web-1", "")
	if err != nil || len(refs) != 1 || refs[0] != (PodRef{"shop", "web-1", "uid-1", "node-1"}) {
		t.Fatalf("by name: %+v, %v", refs, err)
	}
	refs, err = FindPods(ctx, cfg, "shop", "", "app=web")
	if err != nil || len(refs) != 2 || refs[0].Name != "web-1" || refs[1].UID != "uid-2" {
		t.Fatalf("by selector: %+v, %v", refs, err)
	}
	if len(selectors) != 1 || selectors[0] != "app=web" {
		t.Errorf("label selectors sent: %q", selectors)
	}
	if _, err := FindPods(ctx, cfg, "shop", "gone", ""); err == nil {
		t.Error("a missing pod was found")
	}
}
