"""Indexes over the store: lexical (tantivy BM25) and, optionally, dense (faiss)."""
