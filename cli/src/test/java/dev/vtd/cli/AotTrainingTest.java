package dev.vtd.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The launcher keeps an AOT cache only when the training run succeeds: every training command must still run. */
class AotTrainingTest {
    @Test
    void everyTrainingCommandExitsZero() throws Exception {
        assertEquals(java.util.List.of(), AotTraining.failures(),
                "training commands that failed (the launcher would then start without its AOT cache)");
    }
}
