// The k-th largest of a kernel's values, by their order-preserving u32 keys (order_key), one byte at a time from the
// top, so nothing is sorted: 4 rounds (shift 24, 16, 8, 0), each a 256-bin histogram of the next byte among the keys
// whose higher bytes match those fixed so far. Used by sample.wgsl (top-k's cut) and logprobs.wgsl (the TOP largest
// logits); the kernel walks its own values. One round, in uniform control flow:
//   radix_clear(lid, WG); workgroupBarrier(); each key: radix_count(key, sel, shift); workgroupBarrier();
//   sel = radix_next(lid, sel, shift);
// sel = (prefix: the bytes fixed so far, need: how many keys at or above the cut are still to be found among those
// matching it), starting at (0, k); after the last round sel.x is the k-th largest key and sel.y how many of the keys
// equal to it are among the k largest (the rest of those lie strictly above it).

// Order-preserving key: a < b as floats ⇔ order_key(a) < order_key(b) as u32.
fn order_key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

var<workgroup> radix_hist: array<atomic<u32>, 256>;
var<workgroup> radix_sel: vec2<u32>;

fn radix_clear(lid: u32, wg: u32) {
  for (var b = lid; b < 256u; b += wg) { atomicStore(&radix_hist[b], 0u); }
}

// Counts `key` in this round's histogram when its bytes above this round's are sel.x's.
fn radix_count(key: u32, sel: vec2<u32>, shift: u32) {
  // No bytes above the top one (a shift by 32 would be a shift by 0 in WGSL).
  let above = select(0xffffffffu << (shift + 8u), 0u, shift == 24u);
  if ((key & above) == sel.x) { atomicAdd(&radix_hist[(key >> shift) & 0xffu], 1u); }
}

// This round's byte: the highest value whose count, added to the counts of the values above it, reaches sel.y.
// Returns the next sel to every invocation.
fn radix_next(lid: u32, sel: vec2<u32>, shift: u32) -> vec2<u32> {
  if (lid == 0u) {
    var acc = 0u;
    var d = 255u;
    loop {
      let c = atomicLoad(&radix_hist[d]);
      if (acc + c >= sel.y || d == 0u) { break; }
      acc += c;
      d -= 1u;
    }
    radix_sel = vec2<u32>(sel.x | (d << shift), sel.y - acc);
  }
  return workgroupUniformLoad(&radix_sel);
}
