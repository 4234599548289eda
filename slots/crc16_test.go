package slots

import (
	"fmt"
	"testing"
)

// Values from Redis Cluster (CLUSTER KEYSLOT) and its specification.
func TestKeySlot_redisCompatible(t *testing.T) {
	tests := []struct {
		key  string
		want uint16
	}{
		{"123456789", 12739}, // the CRC16 XMODEM check value 0x31C3 & 0x3FFF
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"foo{}{bar}", KeySlot("foo{}{bar}")},
		{"foo{{bar}}zap", KeySlot("{bar")},
		{"foo{bar}{zap}", KeySlot("bar")},
		{"", 0},
	}
	for _, tt := range tests {
		if got := KeySlot(tt.key); got != tt.want {
			t.Errorf("KeySlot(%q) = %d; want %d", tt.key, got, tt.want)
		}
	}
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("CRC16(123456789) = %#x; want 0x31c3", got)
	}
}

func BenchmarkKeySlot(b *testing.B) {
	for _, key := range []string{"user:1000:profile", "{user1000}.following", "a-somewhat-longer-key-of-about-forty-bytes"} {
		b.Run(fmt.Sprintf("len%d", len(key)), func(b *testing.B) {
			for b.Loop() {
				KeySlot(key)
			}
		})
	}
}
