#!/bin/sh
# Healthy once the gateway answers a signed HEAD of the bucket with 200: the daemons are up,
# the S3 user's key works and the bucket exists (the entrypoint creates both).
exec curl -fsS -o /dev/null -I --max-time 2 --aws-sigv4 aws:amz:us-east-1:s3 \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://127.0.0.1:7480/$S3_BUCKET"
