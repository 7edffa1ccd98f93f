// Package rule turns rule files into matches. It owns the rule language
// (YAML entries: rule, list, macro, track; conditions in CEL over the
// event schema of package event), the compiler that checks and indexes
// rules, and the Engine that evaluates them with throttling and bounded
// state. It is pure: no kernel, network or Kubernetes access, so rules are
// tested and benchmarked on recorded events.
package rule
