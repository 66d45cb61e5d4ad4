"""The offline engine: run the Pulumi program on Pulumi's mock engine and write what it would send."""
