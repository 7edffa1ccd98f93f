package metrics

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/output"
)

// ParsePodLabels reads the pod labels to put on alert metrics: names
// among namespace, pod and workload, given as a list or comma-separated
// ("namespace,workload"). "none" or nothing means none.
func ParsePodLabels(names []string) (output.PodLabels, error) {
	var l output.PodLabels
	for _, arg := range names {
		for _, name := range strings.Split(arg, ",") {
			switch strings.TrimSpace(name) {
			case "namespace":
				l.Namespace = true
			case "pod":
				l.Pod = true
			case "workload":
				l.Workload = true
			case "", "none":
			default:
				return output.PodLabels{}, fmt.Errorf("%q is not a pod label: want namespace, pod or workload (or none)", strings.TrimSpace(name))
			}
		}
	}
	return l, nil
}
