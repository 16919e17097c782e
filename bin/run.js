#!/usr/bin/env node
import './polyfill.js'
import { execute } from '@oclif/core'

await execute({ dir: import.meta.url })
