#!/usr/bin/env python3
"""Tests the layout of build/guest/guest.bin: what QEMU's pc machine (and
lockstep-dm's -bios) need of a flat BIOS image."""
import os
import struct
import unittest

BUILD = os.environ.get("LOCKSTEP_BUILD", "build")
IMAGE = os.path.join(BUILD, "guest", "guest.bin")


class GuestImage(unittest.TestCase):
    def setUp(self):
        with open(IMAGE, "rb") as f:
            self.image = f.read()

    def test_size(self):
        # QEMU's pc machine wants a multiple of 64 KiB; this one is 64 KiB.
        self.assertEqual(len(self.image), 0x10000)

    def test_reset_vector(self):
        # F000:FFF0 is the image's offset 0xFFF0: a far jump (EA ofs seg)
        # into the image's own segment, to code below the reset vector.
        opcode, ofs, seg = struct.unpack_from("<BHH", self.image, 0xFFF0)
        self.assertEqual((opcode, seg), (0xEA, 0xF000))
        self.assertLess(ofs, 0xFFF0)
        self.assertEqual(self.image[ofs], 0xFA)     # start: cli

    def test_padding_after_reset_vector(self):
        self.assertEqual(self.image[0xFFF5:], b"\xff" * 11)


if __name__ == "__main__":
    unittest.main()
