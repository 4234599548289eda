package slots

// NumSlots is the number of hash slots in the key space.
const NumSlots = 16384

// crc16Table is the CRC16-CCITT (XMODEM) lookup table: polynomial 0x1021,
// initial value 0, no reflection.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// CRC16 returns the CRC16 (XMODEM) checksum of b.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

// crc16String is CRC16 over a string without copying it.
func crc16String(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^s[i]]
	}
	return crc
}

// KeySlot returns the slot of key. If key holds a '{' followed later by a
// '}' with at least one byte between them, only the bytes between the first
// '{' and the first '}' after it are hashed, as in Redis Cluster.
func KeySlot(key string) uint16 {
	return crc16String(hashTag(key)) & (NumSlots - 1)
}

// hashTag returns the part of key that is hashed.
func hashTag(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j == i+1 {
					return key // "{}" means no tag
				}
				return key[i+1 : j]
			}
		}
		return key
	}
	return key
}
