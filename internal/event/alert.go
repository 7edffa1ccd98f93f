package event

import "time"

// Alert is a rule's match on an event.
type Alert struct {
	Time time.Time `json:"time"`
	// Kind is always "alert", so alerts and events can share a stream.
	Kind    Kind    `json:"kind"`
	Node    string  `json:"node"`
	Rule    RuleRef `json:"rule"`
	Message string  `json:"message"`
	Action  Action  `json:"action"`
	Event   *Event  `json:"event"`
	// Suppressed counts earlier matches of the same rule and process that
	// throttling held back since the last alert that got through.
	Suppressed uint64 `json:"suppressed,omitempty"`
	// Intel are the threat-intelligence indicators the alert is about,
	// with their provenance (docs/intel.md); at most MaxIntelMatches.
	Intel []IntelMatch `json:"intel,omitempty"`
}

// MaxIntelMatches bounds Alert.Intel: a value listed by many MISP events
// names the first ones.
const MaxIntelMatches = 8

// KindAlert is Alert.Kind.
const KindAlert Kind = "alert"

// RuleRef names the rule that matched.
type RuleRef struct {
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Tags     []string `json:"tags,omitempty"`
	// MITRE lists the ATT&CK technique ids among the tags ("T1059.004").
	MITRE []string `json:"mitre,omitempty"`
}

// Severity ranks alerts.
type Severity string

// The severities, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Action is what vigil did about a match.
type Action string

// The actions an alert can report.
const (
	ActionAlert     Action = "alert"
	ActionKilled    Action = "killed"
	ActionDenied    Action = "denied"
	ActionWouldKill Action = "would_kill"
	ActionWouldDeny Action = "would_deny"
)

// IsMITRE says whether a tag is an ATT&CK technique id: T1059, T1059.004.
func IsMITRE(tag string) bool {
	if len(tag) < 5 || tag[0] != 'T' {
		return false
	}
	digits := func(s string, n int) bool {
		if len(s) != n {
			return false
		}
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	main, sub := tag[1:], ""
	for i := range len(main) {
		if main[i] == '.' {
			main, sub = main[:i], main[i+1:]
			return digits(main, 4) && digits(sub, 3)
		}
	}
	return digits(main, 4)
}
