/* SPDX-License-Identifier: GPL-2.0-only */
DefinitionBlock ("", "DSDT", 2, "HVIS", "HVISDSDT", 1)
{
}
