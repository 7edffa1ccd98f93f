package event

// Network is a socket event's endpoints and outcome.
type Network struct {
	Protocol string `json:"protocol"` // "tcp", "udp", "icmp", "raw", …
	Family   string `json:"family"`   // "inet", "inet6", "unix", "packet"
	// SocketType is "stream", "dgram", "raw", "packet", …
	SocketType string `json:"socket_type,omitempty"`
	SAddr      string `json:"saddr,omitempty"`
	SPort      uint16 `json:"sport,omitempty"`
	DAddr      string `json:"daddr,omitempty"`
	DPort      uint16 `json:"dport,omitempty"`
	// Result is "success", "EINPROGRESS", "ECONNREFUSED", … for calls that
	// can fail.
	Result string `json:"result,omitempty"`
	// State is the TCP state a net_close left ("CLOSE", "TIME_WAIT", …),
	// and OldState the one before it.
	State    string `json:"state,omitempty"`
	OldState string `json:"old_state,omitempty"`
	// Backlog of a listen.
	Backlog int `json:"backlog,omitempty"`
	// Payload is what the bytes a net_payload received start with:
	// "java_class" or "elf"; PayloadHead is the first of them (at most
	// 16), in hex.
	Payload     string `json:"payload,omitempty"`
	PayloadHead string `json:"payload_head,omitempty"`
}

// DNS is a query seen leaving the host.
type DNS struct {
	Query string `json:"query"` // "example.com"
	Type  string `json:"type"`  // "A", "AAAA", "TXT", …
	ID    uint16 `json:"id"`
}

// Redirect is a dup2/dup3/fcntl that put a socket on a standard stream.
type Redirect struct {
	OldFD int `json:"old_fd"`
	NewFD int `json:"new_fd"` // 0, 1 or 2
}
