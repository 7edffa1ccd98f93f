package ring

// ReaderAsleep reports whether the reader has asked the kernel to wake it
// (reader_asleep set) and no record has cleared that yet.
func (r *Ring) ReaderAsleep() (bool, error) {
	var v uint32
	if err := r.asleep.Lookup(uint32(0), &v); err != nil {
		return false, err
	}
	return v != 0, nil
}
