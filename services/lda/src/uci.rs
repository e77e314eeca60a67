//! Reader for the UCI bag-of-words format (`docword.*.txt[.gz]` + `vocab.*.txt`).
//!
//! docword: three header lines D, W, NNZ, then `docID wordID count` lines with 1-based ids.
//! vocab: word i on line i. Ids become 0-based here.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use flate2::read::MultiGzDecoder;

use crate::document::Document;

/// Reads a UCI corpus; a `.gz` docword (or vocab) file is decompressed transparently.
/// Documents absent from the triples come back empty, so document i is always line-id i+1.
pub fn read_uci(docword: &Path, vocab: &Path) -> Result<(Vec<Document>, Vec<String>)> {
    let words: Vec<String> = open(vocab)?
        .lines()
        .map(|l| l.map(|s| s.trim().to_owned()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", vocab.display()))?;

    let mut lines = open(docword)?.lines().enumerate();
    let mut header = [0usize; 3];
    for (i, h) in header.iter_mut().enumerate() {
        let (_, line) = lines
            .next()
            .with_context(|| format!("{}: missing header line {}", docword.display(), i + 1))?;
        let line = line.with_context(|| format!("reading {}", docword.display()))?;
        *h = line.trim().parse().with_context(|| {
            format!(
                "{}: header line {} is not a number: {line:?}",
                docword.display(),
                i + 1
            )
        })?;
    }
    let [d, w, _nnz] = header;
    if w > words.len() {
        bail!(
            "{} declares {w} words but {} has only {}",
            docword.display(),
            vocab.display(),
            words.len()
        );
    }

    let mut pairs: Vec<Vec<(u32, f32)>> = vec![Vec::new(); d];
    for (n, line) in lines {
        let line = line.with_context(|| format!("reading {}", docword.display()))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("{} line {}", docword.display(), n + 1);
        let mut f = line.split_ascii_whitespace();
        let (Some(doc), Some(word), Some(count), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            bail!("{}: expected `docID wordID count`, got {line:?}", at());
        };
        let doc: usize = doc.parse().with_context(at)?;
        let word: usize = word.parse().with_context(at)?;
        let count: f32 = count.parse().with_context(at)?;
        if doc == 0 || doc > d || word == 0 || word > w {
            bail!(
                "{}: ids must be in 1..={d} and 1..={w}, got {doc} {word}",
                at()
            );
        }
        pairs[doc - 1].push(((word - 1) as u32, count));
    }
    let docs = pairs.into_iter().map(Document::from_pairs).collect();
    Ok((docs, words))
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_plain_and_gz() {
        let dir = std::env::temp_dir().join(format!("lda-uci-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vocab = dir.join("vocab.txt");
        std::fs::write(&vocab, "apple\nbanana\ncherry\n").unwrap();
        let body = "3\n3\n4\n1 1 2\n1 3 1\n3 2 5\n3 2 1\n";
        let plain = dir.join("docword.txt");
        std::fs::write(&plain, body).unwrap();
        let gz = dir.join("docword.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), Default::default());
        enc.write_all(body.as_bytes()).unwrap();
        enc.finish().unwrap();
        for path in [&plain, &gz] {
            let (docs, words) = read_uci(path, &vocab).unwrap();
            assert_eq!(words, vec!["apple", "banana", "cherry"]);
            assert_eq!(docs.len(), 3);
            assert_eq!(
                docs[0],
                Document {
                    ids: vec![0, 2],
                    counts: vec![2.0, 1.0]
                }
            );
            assert!(docs[1].is_empty());
            assert_eq!(
                docs[2],
                Document {
                    ids: vec![1],
                    counts: vec![6.0]
                }
            );
        }
        std::fs::write(&plain, "1\n3\n1\n1 9 1\n").unwrap();
        assert!(read_uci(&plain, &vocab).is_err());
        assert!(read_uci(&dir.join("missing"), &vocab).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
