package agent

import (
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/wire"
)

func loadNetworkSensor(a *Agent, _ hostCgroups) (io.Closer, error) {
	s, err := network.Load(a.ring, a.cfg.Network)
	if err != nil {
		return nil, err
	}
	dec := network.Decoder{Clock: a.clock.Time}
	for _, kind := range network.Kinds() {
		w, ok := wire.Kind(kind)
		if !ok {
			_ = s.Close() // the missing kind is the error
			return nil, fmt.Errorf("event kind %s has no wire number", kind)
		}
		a.decoders.set(w, dec.Decode)
	}
	return s, nil
}
