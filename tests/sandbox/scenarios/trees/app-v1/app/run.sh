#!/bin/sh
echo hello from app v1
