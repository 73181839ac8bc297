"""The local stack: template.yaml's functions behind a thin API gateway, on DynamoDB Local and moto KMS."""
