//! The E-step's pass kernel alone on synthetic blocks of growing size: is it limited by the
//! FMA units or by streaming the block from L2? A NIPS document's block of active topics
//! (~20 x ~500 words x 4 bytes = 40 KB) is larger than a 32 KB L1 data cache.
//!
//! ```text
//! cargo run --release -p latentlabel-lda --example lda_pass_kernel
//! ```

use latentlabel_lda::pass_kernel_gflops;

fn main() {
    println!("topics words block_kb gflops");
    for topics in [10, 20, 40] {
        for words in [
            64, 128, 200, 256, 384, 456, 512, 520, 1000, 1024, 1500, 2048,
        ] {
            // About 2e9 flops per point, after one warm-up.
            let reps = (5e8 / (topics * words) as f64).ceil() as usize;
            pass_kernel_gflops(topics, words, reps / 10 + 1);
            let best = (0..3)
                .map(|_| pass_kernel_gflops(topics, words, reps))
                .fold(0.0, f64::max);
            let kb = topics * words * 4 / 1024;
            println!("{topics} {words} {kb} {best:.1}");
        }
    }
}
