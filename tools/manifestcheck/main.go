// Command manifestcheck validates rendered Kubernetes manifests offline,
// against the Go types of the Kubernetes API (k8s.io/api) rather than
// JSON schemas fetched from the internet: every document must decode
// strictly into the type its apiVersion and kind name (an unknown or
// duplicated field, a wrong type or an unknown kind is an error), and the
// checks the API server makes that the types cannot express and a chart
// can get wrong are made here too (names, selectors matching the pod
// template, volumes and ports that mounts and probes refer to,
// Bidirectional mount propagation only in privileged containers).
//
//	manifestcheck [-allow group/version/Kind]... FILE...
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

type allowList []string

func (a *allowList) String() string     { return strings.Join(*a, ",") }
func (a *allowList) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	var allow allowList
	flag.Var(&allow, "allow", "apiVersion/Kind to accept without checking (a CRD's kind, e.g. monitoring.coreos.com/v1/ServiceMonitor); repeatable")
	flag.Parse()
	failed := false
	for _, f := range flag.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, errs := Check(f, data, allow)
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, e)
			failed = true
		}
		fmt.Printf("%s: %d documents, %d errors\n", f, n, len(errs))
	}
	if failed {
		os.Exit(1)
	}
}

// Check validates every document of data; file names it in errors.
func Check(file string, data []byte, allow []string) (int, []error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, rbacv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return 0, []error{err}
		}
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var errs []error
	n := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, append(errs, fmt.Errorf("%s: %w", file, err))
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		n++
		var meta metav1.TypeMeta
		if err := utilyaml.Unmarshal(doc, &meta); err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", file, n, err))
			continue
		}
		where := fmt.Sprintf("%s: document %d (%s %s)", file, n, meta.APIVersion, meta.Kind)
		if contains(allow, meta.APIVersion+"/"+meta.Kind) {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		for _, e := range semantic(obj) {
			errs = append(errs, fmt.Errorf("%s: %w", where, e))
		}
	}
	return n, errs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// semantic makes the API server's checks a chart can get wrong.
func semantic(obj runtime.Object) []error {
	var errs []error
	errf := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m, ok := obj.(metav1.Object); ok && m.GetName() == "" {
		errf("metadata.name: required")
	}
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
		if err != nil || o.Spec.Selector == nil {
			errf("spec.selector: %v", err)
		} else if !sel.Matches(labels.Set(o.Spec.Template.Labels)) {
			errf("spec.selector does not match spec.template.metadata.labels")
		}
		errs = append(errs, podSpec(&o.Spec.Template.Spec)...)
	case *corev1.Service:
		if len(o.Spec.Ports) == 0 {
			errf("spec.ports: required")
		}
	case *rbacv1.ClusterRoleBinding:
		if o.RoleRef.Name == "" || len(o.Subjects) == 0 {
			errf("roleRef.name and subjects: required")
		}
	}
	return errs
}

func podSpec(s *corev1.PodSpec) []error {
	var errs []error
	errf := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	vols := map[string]bool{}
	for _, v := range s.Volumes {
		if vols[v.Name] {
			errf("spec.template.spec.volumes: %q given twice", v.Name)
		}
		vols[v.Name] = true
	}
	if len(s.Containers) == 0 {
		errf("spec.template.spec.containers: required")
	}
	for _, c := range s.Containers {
		at := "container " + c.Name
		if c.Image == "" {
			errf("%s: image: required", at)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				errf("%s: port %d out of range", at, p.ContainerPort)
			}
			ports[p.Name] = true
		}
		for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				errf("%s: a probe names port %q, which the container does not declare", at, probe.HTTPGet.Port.StrVal)
			}
		}
		privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				errf("%s: volumeMounts: no volume %q", at, m.Name)
			}
			if m.SubPath != "" {
				errf("%s: volumeMounts %q: subPath never sees ConfigMap updates", at, m.Name)
			}
			if m.MountPropagation != nil && *m.MountPropagation == corev1.MountPropagationBidirectional && !privileged {
				errf("%s: volumeMounts %q: Bidirectional propagation needs a privileged container", at, m.Name)
			}
		}
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			errf("%s: resources: requests and limits expected", at)
		}
	}
	return errs
}
