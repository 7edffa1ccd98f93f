package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// CRINone as Config.CRISocket turns runtime lookups off.
const CRINone = "none"

// defaultCRISockets are where containerd and CRI-O listen, tried in order.
var defaultCRISockets = []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock"}

// The labels the kubelet puts on the sandboxes and containers it makes.
const (
	labelPodName      = "io.kubernetes.pod.name"
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodUID       = "io.kubernetes.pod.uid"
	labelContainer    = "io.kubernetes.container.name"
)

// criClient asks the container runtime about containers over its CRI
// socket (gRPC, runtime.v1).
type criClient struct {
	socket  string
	conn    *grpc.ClientConn
	rt      criv1.RuntimeServiceClient
	timeout time.Duration
}

// dialCRI connects to socket, or to the first default socket that exists
// when socket is ""; nil, nil when none does or socket is "none". gRPC connects lazily: a
// runtime that is down makes lookups fail (counted), not the start.
func dialCRI(socket string, timeout time.Duration) (*criClient, error) {
	if socket == CRINone {
		return nil, nil
	}
	if socket == "" {
		for _, s := range defaultCRISockets {
			if fi, err := os.Stat(s); err == nil && fi.Mode().Type() == os.ModeSocket {
				socket = s
				break
			}
		}
		if socket == "" {
			return nil, nil
		}
	} else if _, err := os.Stat(socket); err != nil {
		return nil, fmt.Errorf("cri socket: %w", err)
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("cri socket %s: %w", socket, err)
	}
	return &criClient{socket: socket, conn: conn, rt: criv1.NewRuntimeServiceClient(conn), timeout: timeout}, nil
}

func (c *criClient) close() error { return c.conn.Close() }

// errNotPod: the runtime knows the container, but not as a pod's.
var errNotPod = errors.New("container has no pod labels")

// lookup returns what the runtime says of a container: its name, image
// and digest, and its pod (name, namespace and, from the pod's sandbox,
// labels). Each call is bounded by the client's timeout.
func (c *criClient) lookup(ctx context.Context, id container.Identity) (ctrInfo, *event.Pod, error) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r, err := c.rt.ContainerStatus(cctx, &criv1.ContainerStatusRequest{ContainerId: id.ID})
	if err != nil {
		return ctrInfo{}, nil, fmt.Errorf("container status: %w", err)
	}
	st := r.GetStatus()
	info := ctrInfo{id: id.ID, name: st.GetMetadata().GetName(), image: st.GetImage().GetImage(),
		digest: digest(st.GetImageRef())}
	if info.name == "" {
		info.name = st.GetLabels()[labelContainer]
	}
	if strings.HasPrefix(info.image, "sha256:") {
		// an image id: the reference it was pulled by says more
		if ref, _, ok := strings.Cut(st.GetImageRef(), "@"); ok {
			info.image = ref
		}
	}
	l := st.GetLabels()
	uid := l[labelPodUID]
	if uid == "" {
		return info, nil, errNotPod
	}
	pod := &event.Pod{UID: uid, Name: l[labelPodName], Namespace: l[labelPodNamespace]}
	if uid != id.PodUID {
		// the cgroup path and the runtime disagree: trust neither's pod
		return info, nil, nil
	}
	pod.Labels = c.podLabels(cctx, uid)
	return info, pod, nil
}

// podLabels reads a pod's labels from its sandbox: the kubelet gives the
// sandbox the pod's labels plus its own io.kubernetes.pod.* ones. nil
// when the sandbox cannot be read (the labels come with the API server).
func (c *criClient) podLabels(ctx context.Context, uid string) map[string]string {
	r, err := c.rt.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{
		Filter: &criv1.PodSandboxFilter{LabelSelector: map[string]string{labelPodUID: uid}}})
	if err != nil || len(r.GetItems()) == 0 {
		return nil
	}
	var labels map[string]string
	for k, v := range r.GetItems()[0].GetLabels() {
		switch k {
		case labelPodName, labelPodNamespace, labelPodUID:
			continue
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	return labels
}
