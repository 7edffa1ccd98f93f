package event

// IntelMatch is a threat-intelligence indicator an alert is about, with
// where it came from: the source vigil read it from and, for MISP, the
// event and attribute that carried it.
type IntelMatch struct {
	Source string `json:"source"`
	// Type is the indicator's type as vigil acts on it (sha256, md5,
	// sha1, sha512, ip, domain) and Value its normalised value.
	Type  string `json:"type"`
	Value string `json:"value"`
	// The MISP event and attribute; empty for plain lists.
	EventUUID     string `json:"event_uuid,omitempty"`
	EventInfo     string `json:"event_info,omitempty"`
	AttributeUUID string `json:"attribute_uuid,omitempty"`
	// AttributeType and AttributeValue are as the feed gave them
	// ("ip-dst|port", "203.0.113.5|443").
	AttributeType  string   `json:"attribute_type,omitempty"`
	AttributeValue string   `json:"attribute_value,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	// Techniques are the MITRE ATT&CK ids among the tags; the alert's
	// rule.mitre lists them too.
	Techniques []string `json:"techniques,omitempty"`
}
