package network

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
)

// capture saves a real record as a seed of FuzzDecodeNetwork and, for DNS
// records, its message as a seed of FuzzParseQuery.
func capture(t *testing.T, what string, raw []byte) {
	t.Helper()
	name := sensortest.SeedName(t, what)
	sensortest.Seed(t, "FuzzDecodeNetwork", name, raw)
	if strings.HasPrefix(what, "dns_query") && len(raw) > netInfoSize {
		sensortest.Seed(t, "FuzzParseQuery", name, raw[netInfoSize:])
	}
}
