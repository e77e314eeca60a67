//! Arrow record batches to and from Parquet bytes. Objects are small enough (one model snapshot,
//! one dataset part) to build in memory and put in one request.

use anyhow::Context;
use arrow::array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

pub fn write_parquet(batch: &RecordBatch) -> anyhow::Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))
        .context("creating parquet writer")?;
    writer.write(batch).context("writing parquet")?;
    writer.close().context("finishing parquet")?;
    Ok(buf)
}

pub fn read_parquet(bytes: Bytes) -> anyhow::Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .context("opening parquet")?
        .with_batch_size(65536)
        .build()
        .context("reading parquet")?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .context("decoding parquet")
}

/// Hex sha256, for manifest checksums.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
