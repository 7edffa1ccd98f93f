package agent

import (
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/wire"
)

func loadFileSensor(a *Agent, _ hostCgroups) (io.Closer, error) {
	s, err := file.Load(a.ring, a.cfg.File)
	if err != nil {
		return nil, err
	}
	if missing := s.Missing(); len(missing) > 0 {
		a.log.Warn("file sensor: this kernel lacks some system calls; they go unseen", "tracepoints", missing)
	}
	dec := file.Decoder{Clock: a.clock.Time}
	for _, k := range file.Kinds() {
		w, ok := wire.Kind(k)
		if !ok {
			_ = s.Close() // the missing kind is the error
			return nil, fmt.Errorf("file sensor: no wire kind for %s", k)
		}
		a.decoders.set(w, dec.Decode)
	}
	return s, nil
}
