package rule

import (
	"regexp"
	"strings"
)

// falcoKeys are Falco's names of rule keys vigil names otherwise.
var falcoKeys = map[string]string{"priority": "severity", "desc": "description", "output": "message"}

// falcoKeyHint explains a key a Falco rules file would use.
func falcoKeyHint(key string) string {
	if v, ok := falcoKeys[key]; ok {
		return "; Falco's " + key + " is vigil's " + v + " (vigil rules import-falco translates Falco files)"
	}
	return ""
}

// falcoEntryKeys are entries of Falco files that vigil has no use for.
var falcoEntryKeys = []string{"required_engine_version", "required_plugin_versions"}

var (
	falcoWords  = regexp.MustCompile(`\b(and|or|not|startswith|endswith|icontains|pmatch|intersects)\b|\bin \(`)
	falcoFields = regexp.MustCompile(`\b(evt|proc|fd|user)\.[a-z]`)
	singleEq    = regexp.MustCompile(`(^|[^=!<>])=([^=]|$)`)
)

// falcoConditionHint says what to change when a condition that did not
// compile looks like Falco's filter language, or "".
func falcoConditionHint(cond string) string {
	if !falcoWords.MatchString(cond) && !falcoFields.MatchString(cond) && !singleEq.MatchString(cond) {
		return ""
	}
	var tips []string
	if strings.Contains(cond, "evt.type") {
		tips = append(tips, `evt.type → kind ("process_exec", "file_open", …)`)
	}
	if strings.Contains(cond, "proc.") {
		tips = append(tips, "proc. → process.")
	}
	if falcoWords.MatchString(cond) || singleEq.MatchString(cond) {
		tips = append(tips, "and/or/not → &&/||/!, = → ==, in (a, b) → in [\"a\", \"b\"], startswith → .startsWith()")
	}
	msg := "; this looks like Falco's condition syntax: vigil conditions are CEL"
	if len(tips) > 0 {
		msg += " (" + strings.Join(tips, "; ") + ")"
	}
	return msg + "; vigil rules import-falco translates Falco rules"
}
