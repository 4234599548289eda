package peer_test

import "github.com/lambdakv/lambdakv/peer/wire"

type wireSlotRange = wire.SlotRange
