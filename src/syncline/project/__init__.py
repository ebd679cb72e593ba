"""Config as code: a folder of YAML files turned into catalog resources by plan and apply."""
