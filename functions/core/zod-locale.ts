import { config } from 'zod/mini';
import { en } from 'zod/locales';

// Unlike classic zod, zod/mini registers no locale, and without one every issue reads "Invalid
// input". The 4xx bodies, the configuration problems and the order rows quote zod's messages, so
// every module that imports zod/mini also imports this one, for its effect alone.
config(en());
